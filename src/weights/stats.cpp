// Summaries of a layer's parameters for inspection.
#include <cmath>
#include <limits>

#include "dusk/weights.hpp"

namespace dusk {

namespace {

BlockStats summarise(const std::vector<float>& values, std::int64_t& non_finite) {
  BlockStats stats;
  double sum = 0;
  float low = std::numeric_limits<float>::max();
  float high = std::numeric_limits<float>::lowest();
  for (const float v : values) {
    if (!std::isfinite(v)) {
      ++non_finite;
      continue;
    }
    low = std::fmin(low, v);
    high = std::fmax(high, v);
    sum += v;
    ++stats.count;
  }
  if (stats.count > 0) {
    stats.min = low;
    stats.max = high;
    stats.mean = static_cast<float>(sum / static_cast<double>(stats.count));
  }
  return stats;
}

std::int64_t count_zero_filters(const Layer& layer, const std::vector<float>& weights) {
  if (layer.kind != LayerKind::Convolutional || weights.empty()) return 0;
  const std::size_t filters = static_cast<std::size_t>(layer.as<ConvSpec>().filters);
  const std::size_t per_filter = weights.size() / filters;
  std::int64_t zero = 0;
  for (std::size_t f = 0; f < filters; ++f) {
    bool all_zero = true;
    for (std::size_t i = 0; i < per_filter && all_zero; ++i) all_zero = weights[f * per_filter + i] == 0.0f;
    zero += all_zero ? 1 : 0;
  }
  return zero;
}

}  // namespace

LayerStats layer_stats(const Layer& layer, const LayerParams& params) {
  LayerStats stats;
  summarise(params.biases, stats.non_finite);
  summarise(params.mean, stats.non_finite);
  summarise(params.weights, stats.non_finite);
  stats.batchnorm = !params.variance.empty();
  stats.scales = summarise(params.scales, stats.non_finite);
  stats.variance = summarise(params.variance, stats.non_finite);
  for (const float v : params.variance) stats.near_zero_variances += std::fabs(v) < kNearZeroVariance ? 1 : 0;
  for (const float s : params.scales) stats.dead_channels += std::fabs(s) < kDeadScale ? 1 : 0;
  stats.zero_filters = count_zero_filters(layer, params.weights);
  return stats;
}

}  // namespace dusk
