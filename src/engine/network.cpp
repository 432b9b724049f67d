// Network: load, fold once, then run forward passes that share nothing
// mutable, so one Network serves many threads.
#include "dusk/network.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "dusk/error.hpp"
#include "engine/fold.hpp"
#include "engine/run_layer.hpp"
#include "util/text.hpp"

namespace dusk {

struct Network::Impl {
  Graph graph;
  Weights raw;
  std::vector<FoldedLayer> folded;
  std::vector<int> last_reader;  // per layer: the last layer that reads its output
  int threads = 1;
  Backend backend = Backend::Reference;
};

namespace {

Backend choose_backend(Backend requested) {
  const char* forced = std::getenv("DUSK_BACKEND");
  if (forced != nullptr && std::string_view(forced) == "ref") return Backend::Reference;
  (void)requested;  // only the reference path exists so far
  return Backend::Reference;
}

int choose_threads(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::vector<int> last_readers(const Graph& graph) {
  std::vector<int> last(graph.layers.size(), -1);
  for (const Layer& layer : graph.layers) {
    for (const int producer : layer.inputs) {
      if (producer >= 0) last[static_cast<std::size_t>(producer)] = layer.index;
    }
  }
  return last;
}

}  // namespace

Network::Network(Graph graph, Weights weights, const NetworkOptions& options) {
  auto impl = std::make_shared<Impl>();
  check_weights_fit(graph, weights);
  impl->folded.reserve(graph.layers.size());
  for (const Layer& layer : graph.layers) {
    impl->folded.push_back(fold_layer(layer, weights.layers[static_cast<std::size_t>(layer.index)], graph.source));
  }
  impl->last_reader = last_readers(graph);
  impl->threads = choose_threads(options.threads);
  impl->backend = choose_backend(options.backend);
  impl->graph = std::move(graph);
  impl->raw = std::move(weights);
  impl_ = std::move(impl);
}

Network Network::load(const std::string& cfg_path, const std::string& weights_path, const NetworkOptions& options) {
  Graph graph = load_graph(cfg_path, GraphOptions{options.width, options.height});
  Weights weights = read_weights(weights_path, graph);
  return Network(std::move(graph), std::move(weights), options);
}

const Graph& Network::graph() const { return impl_->graph; }
const Weights& Network::raw_weights() const { return impl_->raw; }
Shape Network::input_shape() const { return impl_->graph.input; }
Backend Network::backend() const { return impl_->backend; }

std::vector<Tensor> Network::forward(const Tensor& input, const std::vector<int>& keep) const {
  const Impl& impl = *impl_;
  const Graph& graph = impl.graph;
  if (input.shape != graph.input || static_cast<std::int64_t>(input.data.size()) != graph.input.size()) {
    throw Error(cat("input tensor is ", to_string(input.shape), " but ", graph.source, " takes ",
                    to_string(graph.input), "; resize the input or build the network for that size"));
  }
  const std::vector<int> wanted = keep.empty() ? graph.head_layers() : keep;
  std::vector<bool> kept(graph.layers.size(), false);
  for (const int index : wanted) {
    if (index < 0 || index >= static_cast<int>(graph.layers.size())) {
      throw Error(cat("layer ", index, " does not exist; ", graph.source, " has layers 0..", graph.layers.size() - 1));
    }
    kept[static_cast<std::size_t>(index)] = true;
  }
  const int last_needed = wanted.empty() ? -1 : *std::max_element(wanted.begin(), wanted.end());

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
    run_layer_reference(layer, impl.folded[static_cast<std::size_t>(layer.index)], inputs, out.data(), impl.threads);
    if (impl.last_reader[static_cast<std::size_t>(layer.index)] < 0 && !kept[static_cast<std::size_t>(layer.index)]) {
      std::vector<float>().swap(out);  // nothing reads it
    }
    // Release what no later layer reads.
    for (const int producer : layer.inputs) {
      if (producer >= 0 && impl.last_reader[static_cast<std::size_t>(producer)] == layer.index &&
          !kept[static_cast<std::size_t>(producer)]) {
        std::vector<float>().swap(outputs[static_cast<std::size_t>(producer)]);
      }
    }
  }

  std::vector<Tensor> results;
  results.reserve(wanted.size());
  for (const int index : wanted) {
    Tensor tensor;
    tensor.shape = graph.layers[static_cast<std::size_t>(index)].out;
    tensor.data = outputs[static_cast<std::size_t>(index)];
    results.push_back(std::move(tensor));
  }
  return results;
}

}  // namespace dusk
