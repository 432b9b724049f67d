// Seeded random parameters for any graph, so every cfg can be loaded, tested
// and benchmarked without trained weights.
#include <cmath>
#include <random>

#include "dusk/error.hpp"
#include "dusk/text.hpp"
#include "weights/blocks.hpp"

namespace dusk {

namespace {

// Uniform floats from a fixed generator and a fixed conversion, so a seed
// gives the same file with every standard library.
class Uniform {
 public:
  explicit Uniform(std::uint64_t seed) : engine_(seed) {}
  float operator()(float low, float high) {
    const float unit = static_cast<float>(engine_() >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    return low + (high - low) * unit;
  }

 private:
  std::mt19937_64 engine_;
};

std::int64_t fan_in(const Layer& layer) {
  if (layer.kind == LayerKind::Convolutional) {
    const ConvSpec& spec = layer.as<ConvSpec>();
    return std::int64_t{layer.in.c / spec.groups} * spec.size * spec.size;
  }
  return layer.in.size();
}

}  // namespace

Weights random_weights(const Graph& graph, std::uint64_t seed) {
  if (graph.total_params() > kMaxRandomWeightFloats) {
    throw Error(cat(graph.source, " has ", graph.total_params(), " parameters, more than the ", kMaxRandomWeightFloats,
                    " that random weights are made for (dusk::kMaxRandomWeightFloats); give a weights file"));
  }
  Weights weights;
  weights.layers.resize(graph.layers.size());
  Uniform uniform(seed);
  for (const Layer& layer : graph.layers) {
    LayerParams& params = weights.layers[static_cast<std::size_t>(layer.index)];
    for (const BlockSize& block : param_layout(layer)) {
      std::vector<float>& values = params.block(block.block);
      values.resize(static_cast<std::size_t>(block.floats));
      float low = -0.1f;
      float high = 0.1f;
      switch (block.block) {
        case ParamBlock::Scales: low = 0.5f; high = 1.5f; break;
        case ParamBlock::Variance: low = 0.5f; high = 2.0f; break;
        case ParamBlock::Weights:
          if (layer.kind == LayerKind::Shortcut) {
            low = 0.5f;
            high = 1.5f;
          } else {  // variance 1/fan_in
            high = std::sqrt(3.0f / static_cast<float>(fan_in(layer)));
            low = -high;
          }
          break;
        case ParamBlock::Biases:
        case ParamBlock::Mean:
          break;  // +-0.1
      }
      for (float& value : values) value = uniform(low, high);
    }
  }
  return weights;
}

}  // namespace dusk
