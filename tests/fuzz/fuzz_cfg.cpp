// cfg text -> graph. Any outcome but a graph or a dusk::Error is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dusk/dusk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const dusk::Graph graph = dusk::build_graph(dusk::parse_cfg(text, "fuzz.cfg"));
    (void)graph.peak_activation_bytes();
    (void)graph.total_bflops();
    (void)dusk::expected_file_bytes(graph);
    for (const dusk::Layer& layer : graph.layers) (void)dusk::param_layout(layer);
    (void)dusk::with_input_size(graph, graph.stride * 2, graph.stride * 3);
  } catch (const dusk::Error&) {
  }
  return 0;
}
