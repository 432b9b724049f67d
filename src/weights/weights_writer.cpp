// Writing a .weights file in Darknet's order; the inverse of parse_weights.
#include <cstring>

#include "dusk/error.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"
#include "weights/blocks.hpp"

namespace dusk {

namespace {

template <class T>
void append_scalar(std::vector<char>& out, T value) {
  const auto* bytes = reinterpret_cast<const char*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof value);
}

void append_floats(std::vector<char>& out, const std::vector<float>& values) {
  const auto* bytes = reinterpret_cast<const char*>(values.data());
  out.insert(out.end(), bytes, bytes + values.size() * sizeof(float));
}

}  // namespace

std::vector<char> serialize_weights(const Graph& graph, const Weights& weights, int layer_count) {
  check_weights_fit(graph, weights, layer_count);
  std::vector<char> out;
  out.reserve(static_cast<std::size_t>(expected_file_bytes(graph, weights.header)));
  const WeightsHeader& header = weights.header;
  append_scalar(out, header.major);
  append_scalar(out, header.minor);
  append_scalar(out, header.revision);
  if (header.seen_is_64bit()) {
    append_scalar(out, header.seen);
  } else {
    append_scalar(out, static_cast<std::uint32_t>(header.seen));
  }
  for (const Layer& layer : graph.layers) {
    if (layer_count >= 0 && layer.index >= layer_count) break;
    const LayerParams& params = weights.layers[static_cast<std::size_t>(layer.index)];
    for (const BlockSize& block : param_layout(layer)) {
      const std::vector<float>& values = params.block(block.block);
      std::int64_t rows = 0;
      std::int64_t cols = 0;
      if (block.block == ParamBlock::Weights && stored_transposed(layer, header, rows, cols)) {
        append_floats(out, transposed(values, cols, rows));
      } else {
        append_floats(out, values);
      }
    }
  }
  return out;
}

void write_weights(const std::string& path, const Graph& graph, const Weights& weights, int layer_count) {
  const std::vector<char> bytes = serialize_weights(graph, weights, layer_count);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace dusk
