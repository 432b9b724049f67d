// Which float blocks each layer owns in a .weights file, in file order: a
// fact of the layer's kind and shape, so the graph owns it (the weights
// reader and writer follow it; the graph never depends on them).
#include "dusk/graph.hpp"
#include "graph/layer_kind_table.hpp"

namespace dusk {

std::vector<BlockSize> param_layout(const Layer& layer) {
  std::vector<BlockSize> blocks;
  const auto batchnorm = [&](std::int64_t n) {
    blocks.push_back({ParamBlock::Scales, n});
    blocks.push_back({ParamBlock::Mean, n});
    blocks.push_back({ParamBlock::Variance, n});
  };
  switch (layer_kind_row(layer.kind).params) {
    case ParamForm::ConvKernel: {
      const ConvSpec& spec = layer.as<ConvSpec>();
      const std::int64_t filters = spec.filters;
      blocks.push_back({ParamBlock::Biases, filters});
      if (spec.batch_normalize) batchnorm(filters);
      blocks.push_back({ParamBlock::Weights, filters * (layer.in.c / spec.groups) * spec.size * spec.size});
      break;
    }
    case ParamForm::ConnectedMatrix: {
      const ConnectedSpec& spec = layer.as<ConnectedSpec>();
      blocks.push_back({ParamBlock::Biases, spec.outputs});
      blocks.push_back({ParamBlock::Weights, std::int64_t{spec.outputs} * layer.in.size()});
      if (spec.batch_normalize) batchnorm(spec.outputs);
      break;
    }
    case ParamForm::Batchnorm:
      blocks.push_back({ParamBlock::Biases, layer.in.c});
      batchnorm(layer.in.c);
      break;
    case ParamForm::ShortcutWeights: {
      const ShortcutSpec& spec = layer.as<ShortcutSpec>();
      const std::int64_t sources = static_cast<std::int64_t>(spec.from.size()) + 1;
      if (spec.weights_type == ShortcutWeights::PerFeature) blocks.push_back({ParamBlock::Weights, sources});
      if (spec.weights_type == ShortcutWeights::PerChannel) {
        blocks.push_back({ParamBlock::Weights, sources * layer.out.c});
      }
      break;
    }
    case ParamForm::None: break;
  }
  return blocks;
}

}  // namespace dusk
