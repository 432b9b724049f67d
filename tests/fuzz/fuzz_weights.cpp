// Weights bytes against a fixed small graph with every kind of parameter
// block: read, inspect, fold, run. Any outcome but success or a dusk::Error
// is a finding.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dusk/dusk.hpp"
#include "fuzz_graphs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dusk::Graph graph = dusk::build_graph(dusk::parse_cfg(dusk::fuzz::kBlockCfg, "blocks.cfg"));
  const std::vector<char> bytes(data, data + size);
  try {
    dusk::WeightsFit fit;
    const dusk::Weights partial = dusk::parse_weights_partial(bytes, graph, "fuzz.weights", fit);
    for (const dusk::Layer& layer : graph.layers) {
      (void)dusk::layer_stats(layer, partial.layers[static_cast<std::size_t>(layer.index)]);
    }
    (void)dusk::diagnose_misfit(graph, fit);
    dusk::Weights weights = dusk::parse_weights(bytes, graph, "fuzz.weights");
    (void)dusk::fold_batchnorm(graph, weights);
    const dusk::Network network(graph, std::move(weights), dusk::NetworkOptions{0, 0, 1, dusk::Backend::Reference});
    network.forward(dusk::Tensor(graph.input, 0.5f), {static_cast<int>(graph.layers.size()) - 1});
  } catch (const dusk::Error&) {
  }
  return 0;
}
