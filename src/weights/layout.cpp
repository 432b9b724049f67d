// Which float blocks each layer owns in a .weights file, in file order.
#include "dusk/weights.hpp"

namespace dusk {

bool WeightsHeader::seen_is_64bit() const {
  return std::int64_t{major} * 10 + minor >= 2 && major < 1000 && minor < 1000;  // garbage headers must not overflow
}

bool WeightsHeader::transposed() const { return major > 1000 || minor > 1000; }

std::size_t WeightsHeader::size_bytes() const { return 12 + (seen_is_64bit() ? 8 : 4); }

std::int64_t expected_floats(const Graph& graph) { return graph.total_params(); }

std::uint64_t expected_file_bytes(const Graph& graph, const WeightsHeader& header) {
  return header.size_bytes() + static_cast<std::uint64_t>(expected_floats(graph)) * sizeof(float);
}

}  // namespace dusk
