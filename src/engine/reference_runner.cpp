// The reference interpreter (reference_runner.hpp).
#include "engine/reference_runner.hpp"

#include <algorithm>

#include "engine/run_layer.hpp"

namespace dusk {

std::vector<Tensor> run_reference(const Graph& graph, const std::vector<const FoldedLayer*>& reference_params,
                                  const std::vector<int>& last_reader, const Tensor& input, const std::vector<int>& keep,
                                  int call_threads) {
  std::vector<bool> kept(graph.layers.size(), false);
  for (const int index : keep) kept[static_cast<std::size_t>(index)] = true;
  const int last_needed = keep.empty() ? -1 : *std::max_element(keep.begin(), keep.end());

  std::vector<std::vector<float>> outputs(graph.layers.size());
  for (const Layer& layer : graph.layers) {
    if (layer.index > last_needed) break;
    LayerInputs inputs;
    for (const int producer : layer.inputs) {
      inputs.data.push_back(producer < 0 ? input.data.data() : outputs[static_cast<std::size_t>(producer)].data());
      inputs.shapes.push_back(producer < 0 ? graph.input : graph.layers[static_cast<std::size_t>(producer)].out);
    }
    std::vector<float>& out = outputs[static_cast<std::size_t>(layer.index)];
    out.resize(static_cast<std::size_t>(layer.out.size()));
    run_layer_reference(layer, *reference_params[static_cast<std::size_t>(layer.index)], inputs, out.data(),
                        call_threads);
    if (last_reader[static_cast<std::size_t>(layer.index)] < 0 && !kept[static_cast<std::size_t>(layer.index)]) {
      std::vector<float>().swap(out);  // nothing reads it
    }
    // Release what no later layer reads.
    for (const int producer : layer.inputs) {
      if (producer >= 0 && last_reader[static_cast<std::size_t>(producer)] == layer.index &&
          !kept[static_cast<std::size_t>(producer)]) {
        std::vector<float>().swap(outputs[static_cast<std::size_t>(producer)]);
      }
    }
  }
  std::vector<Tensor> results;
  results.reserve(keep.size());
  for (const int index : keep) {
    Tensor tensor;
    tensor.shape = graph.layers[static_cast<std::size_t>(index)].out;
    tensor.data = outputs[static_cast<std::size_t>(index)];
    results.push_back(std::move(tensor));
  }
  return results;
}

}  // namespace dusk
