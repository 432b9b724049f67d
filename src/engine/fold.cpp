#include "engine/fold.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "dusk/error.hpp"
#include "dusk/network.hpp"
#include "dusk/text.hpp"
#include "graph/layer_kind_table.hpp"

namespace dusk {

namespace {

// The per-output factor gamma / sqrt(var + eps); a negative variance can only
// come from a corrupt file.
double batchnorm_factor(const LayerParams& params, std::size_t channel, const Layer& layer, const std::string& source) {
  const double variance = params.variance[channel];
  if (!(variance + kBatchNormEpsilon > 0)) {
    throw Error(cat(source, ": layer ", layer.index, " [", layer_kind_name(layer.kind), "] has BatchNorm variance ",
                    variance, " at channel ", channel, "; variances must be >= 0, so the weights file is corrupt"));
  }
  return params.scales[channel] / std::sqrt(variance + kBatchNormEpsilon);
}

// Each output's kernel row times its BatchNorm factor, in double and rounded
// once, as Darknet's fuse does.
void scale_rows(const Layer& layer, const LayerParams& params, float* weights, std::size_t floats,
                const std::string& source) {
  const std::size_t outputs = params.biases.size();
  if (outputs == 0) return;
  const std::size_t per_output = floats / outputs;
  for (std::size_t f = 0; f < outputs; ++f) {
    const double factor = batchnorm_factor(params, f, layer, source);
    float* row = weights + f * per_output;
    for (std::size_t i = 0; i < per_output; ++i) row[i] = static_cast<float>(row[i] * factor);
  }
}

FoldedLayer fold_affine(const Layer& layer, std::vector<float> weights, const LayerParams& params, bool batch_normalize,
                        const std::string& source) {
  FoldedLayer folded{std::move(weights), params.biases, {}};
  if (!batch_normalize) return folded;
  for (std::size_t f = 0; f < params.biases.size(); ++f) {
    folded.biases[f] = static_cast<float>(params.biases[f] - static_cast<double>(params.scales[f]) * params.mean[f] /
                                                                  std::sqrt(double{params.variance[f]} + kBatchNormEpsilon));
  }
  // Also with the kernel deferred (no floats yet): it checks every variance.
  scale_rows(layer, params, folded.weights.data(), folded.weights.size(), source);
  return folded;
}

FoldedLayer fold_batchnorm_layer(const Layer& layer, const LayerParams& params, const std::string& source) {
  FoldedLayer folded;
  const std::size_t channels = params.biases.size();
  folded.scales.resize(channels);
  folded.biases.resize(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    const double factor = batchnorm_factor(params, c, layer, source);
    folded.scales[c] = static_cast<float>(factor);
    folded.biases[c] = static_cast<float>(params.biases[c] - params.mean[c] * factor);
  }
  return folded;
}

// Darknet normalises shortcut weights once at load: relu normalisation
// floors each weight at 0.001, softmax subtracts the maximum; both divide by
// a sum that starts at 0.0001.
std::vector<float> normalize_shortcut_weights(const ShortcutSpec& spec, std::vector<float> weights) {
  if (weights.empty() || spec.normalization == ShortcutNormalization::None) return weights;
  const std::size_t sources = spec.from.size() + 1;
  const std::size_t step = weights.size() / sources;
  for (std::size_t chan = 0; chan < step; ++chan) {
    float max_value = -FLT_MAX;
    if (spec.normalization == ShortcutNormalization::Softmax) {
      for (std::size_t i = 0; i < sources; ++i) max_value = std::max(max_value, weights[chan + i * step]);
    }
    const auto transform = [&](float w) {
      return spec.normalization == ShortcutNormalization::Relu ? (w > 0.001f ? w : 0.001f) : std::exp(w - max_value);
    };
    float sum = 0.0001f;
    for (std::size_t i = 0; i < sources; ++i) sum += transform(weights[chan + i * step]);
    for (std::size_t i = 0; i < sources; ++i) {
      float& w = weights[chan + i * step];
      w = transform(w) / sum;
    }
  }
  return weights;
}

FoldedLayer fold_with(const Layer& layer, std::vector<float> weights, const LayerParams& params,
                      const std::string& source) {
  switch (layer_kind_row(layer.kind).params) {
    case ParamForm::ConvKernel:
      return fold_affine(layer, std::move(weights), params, layer.as<ConvSpec>().batch_normalize, source);
    case ParamForm::ConnectedMatrix:
      return fold_affine(layer, std::move(weights), params, layer.as<ConnectedSpec>().batch_normalize, source);
    case ParamForm::Batchnorm: return fold_batchnorm_layer(layer, params, source);
    case ParamForm::ShortcutWeights:
      return {normalize_shortcut_weights(layer.as<ShortcutSpec>(), std::move(weights)), {}, {}};
    case ParamForm::None: return {};
  }
  return {};
}

}  // namespace

FoldedLayer fold_layer(const Layer& layer, const LayerParams& params, const std::string& source) {
  return fold_with(layer, params.weights, params, source);
}

void fold_kernel(const Layer& layer, const LayerParams& params, float* kernel, std::size_t floats,
                 const std::string& source) {
  if (layer.kind == LayerKind::Convolutional && layer.as<ConvSpec>().batch_normalize) {
    scale_rows(layer, params, kernel, floats, source);
  }
}

FoldedLayer fold_layer_taking_weights(const Layer& layer, LayerParams& params, const std::string& source) {
  std::vector<float> weights = std::move(params.weights);
  params.weights = {};
  return fold_with(layer, std::move(weights), params, source);
}

Weights fold_batchnorm(const Graph& graph, const Weights& weights) {
  check_weights_fit(graph, weights);
  Weights folded = weights;
  folded.warnings.clear();
  for (const Layer& layer : graph.layers) {
    const bool conv_bn = layer.kind == LayerKind::Convolutional && layer.as<ConvSpec>().batch_normalize;
    const bool connected_bn = layer.kind == LayerKind::Connected && layer.as<ConnectedSpec>().batch_normalize;
    if (!conv_bn && !connected_bn) continue;
    LayerParams& params = folded.layers[static_cast<std::size_t>(layer.index)];
    FoldedLayer result = fold_layer(layer, params, graph.source);
    params.weights = std::move(result.weights);
    params.biases = std::move(result.biases);
    params.scales.clear();
    params.mean.clear();
    params.variance.clear();
  }
  return folded;
}

}  // namespace dusk
