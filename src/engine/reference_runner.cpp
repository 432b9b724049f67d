// The reference backend: a whole forward pass, layer by layer, on the plain
// reference kernels (run_layer.hpp), each output freed after its last reader.
#include <algorithm>

#include "engine/backend_runner.hpp"
#include "engine/run_layer.hpp"

namespace dusk {
namespace {

// The outputs of the layers in `keep`, in that order. `reference_params`
// holds each layer's folded parameters; `last_reader` is Graph::last_readers().
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

class ReferenceRunner final : public BackendRunner {
 public:
  ReferenceRunner(const Graph& graph, KernelStore& store)
      : graph_(graph), store_(store), last_reader_(graph.last_readers()) {}

  Backend kind() const override { return Backend::Reference; }

  // Each layer's parameters are pinned once here, so a pass neither locks
  // the store nor names layers.
  void prepare() override {
    params_.clear();
    for (const Layer& layer : graph_.layers) params_.push_back(&store_.plain(layer.index, graph_.describe(layer.index)));
  }
  bool streams_kernels() const override { return false; }
  bool took_kernel(int) const override { return false; }

  std::vector<Tensor> run(const Tensor& input, const std::vector<int>& wanted, int threads) const override {
    return run_reference(graph_, params_, last_reader_, input, wanted, threads);
  }
  std::vector<std::pair<std::string, int>> kernel_summary(const std::vector<int>&, int) const override { return {}; }

 private:
  const Graph& graph_;
  KernelStore& store_;
  std::vector<int> last_reader_;  // per layer: the last layer that reads its output
  std::vector<const FoldedLayer*> params_;
};

}  // namespace

std::unique_ptr<BackendRunner> make_reference_runner(const Graph& graph, KernelStore& store) {
  return std::make_unique<ReferenceRunner>(graph, store);
}

}  // namespace dusk
