#include "weights/blocks.hpp"

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk {

const char* block_name(ParamBlock block) {
  switch (block) {
    case ParamBlock::Biases: return "biases";
    case ParamBlock::Scales: return "scales";
    case ParamBlock::Mean: return "mean";
    case ParamBlock::Variance: return "variance";
    case ParamBlock::Weights: break;
  }
  return "weights";
}

std::vector<float>& LayerParams::block(ParamBlock which) {
  switch (which) {
    case ParamBlock::Biases: return biases;
    case ParamBlock::Scales: return scales;
    case ParamBlock::Mean: return mean;
    case ParamBlock::Variance: return variance;
    case ParamBlock::Weights: break;
  }
  return weights;
}

const std::vector<float>& LayerParams::block(ParamBlock which) const {
  return const_cast<LayerParams*>(this)->block(which);
}

std::vector<float> transposed(const std::vector<float>& matrix, std::int64_t rows, std::int64_t cols) {
  std::vector<float> out(matrix.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) out[c * rows + r] = matrix[r * cols + c];
  }
  return out;
}

bool stored_transposed(const Layer& layer, const WeightsHeader& header, std::int64_t& rows, std::int64_t& cols) {
  if (layer.kind == LayerKind::Connected && header.transposed()) {
    rows = layer.in.size();  // stored inputs x outputs
    cols = layer.as<ConnectedSpec>().outputs;
    return true;
  }
  if (layer.kind == LayerKind::Convolutional && layer.as<ConvSpec>().flipped) {
    const ConvSpec& spec = layer.as<ConvSpec>();
    rows = std::int64_t{layer.in.c / spec.groups} * spec.size * spec.size;  // stored k x n
    cols = spec.filters;
    return true;
  }
  return false;
}

void check_weights_fit(const Graph& graph, const Weights& weights, int layer_count) {
  if (weights.layers.size() != graph.layers.size()) {
    throw Error(cat("the weights have ", weights.layers.size(), " layers but ", graph.source, " has ",
                    graph.layers.size(), "; they were made for another cfg"));
  }
  for (const Layer& layer : graph.layers) {
    if (layer_count >= 0 && layer.index >= layer_count) break;
    const LayerParams& params = weights.layers[static_cast<std::size_t>(layer.index)];
    for (const BlockSize& block : param_layout(layer)) {
      const std::size_t size = params.block(block.block).size();
      if (static_cast<std::int64_t>(size) != block.floats) {
        throw Error(cat(graph.describe(layer.index), " has ", size, " ", block_name(block.block), " but needs ",
                        block.floats, "; the weights were made for another cfg"));
      }
    }
  }
}

}  // namespace dusk
