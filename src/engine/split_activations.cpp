// split_activations: a conv with a non-linear activation becomes a linear conv
// and an [activation] layer; every layer reference is renumbered.
#include "engine/split_activations.hpp"

#include <type_traits>
#include <variant>

namespace dusk {

namespace {

bool splits(const Layer& layer) {
  return layer.kind == LayerKind::Convolutional && layer.as<ConvSpec>().activation != Activation::Linear;
}

}  // namespace

SplitActivations split_activations(const Graph& graph, Weights weights) {
  SplitActivations split;
  split.graph = graph;
  split.graph.layers.clear();
  split.weights.header = weights.header;
  split.weights.trailing_bytes = weights.trailing_bytes;
  split.output_of.assign(graph.layers.size(), -1);
  split.raw_output_of.assign(graph.layers.size(), -1);
  const auto renumber = [&](int old) { return old < 0 ? old : split.output_of[static_cast<std::size_t>(old)]; };
  for (const Layer& original : graph.layers) {
    const std::size_t at = static_cast<std::size_t>(original.index);
    Layer layer = original;
    layer.index = static_cast<int>(split.graph.layers.size());
    for (int& input : layer.inputs) input = renumber(input);
    std::visit(
        [&](auto& spec) {
          using Spec = std::decay_t<decltype(spec)>;
          if constexpr (std::is_same_v<Spec, RouteSpec>) {
            for (int& from : spec.layers) from = renumber(from);
          } else if constexpr (std::is_same_v<Spec, ShortcutSpec>) {
            for (int& from : spec.from) from = renumber(from);
          } else if constexpr (std::is_same_v<Spec, ScaleSpec>) {
            spec.from = renumber(spec.from);
          }
        },
        layer.spec);
    split.weights.layers.push_back(std::move(weights.layers[at]));
    if (original.kind == LayerKind::Convolutional) split.raw_output_of[at] = layer.index;
    if (!splits(original)) {
      split.output_of[at] = layer.index;
      split.graph.layers.push_back(std::move(layer));
      continue;
    }
    ConvSpec& conv = std::get<ConvSpec>(layer.spec);
    Layer activation;
    activation.index = layer.index + 1;
    activation.kind = LayerKind::Activation;
    activation.line = layer.line;
    activation.inputs = {layer.index};
    activation.in = layer.out;
    activation.out = layer.out;
    activation.spec = ActivationSpec{conv.activation};
    conv.activation = Activation::Linear;
    split.graph.layers.push_back(std::move(layer));
    split.graph.layers.push_back(std::move(activation));
    split.weights.layers.emplace_back();
    split.output_of[at] = split.graph.layers.back().index;
  }
  return split;
}

}  // namespace dusk
