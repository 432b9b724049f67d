#pragma once
// Load-time preparation of parameters: BatchNorm folded into the preceding
// convolution or connected layer, shortcut weights normalised once.
#include <vector>

#include "dusk/graph.hpp"
#include "dusk/weights.hpp"

namespace dusk {

struct FoldedLayer {
  std::vector<float> weights;  // conv [filters][c/groups][k][k], connected [outputs][inputs], shortcut weights
  std::vector<float> biases;   // one per output channel
  std::vector<float> scales;   // [batchnorm] layers: per-channel factor (biases hold the shift)
};

// w' = w * gamma / sqrt(var + eps), b' = b - mean * gamma / sqrt(var + eps),
// in double precision as Darknet's fuse_conv_batchnorm does.
FoldedLayer fold_layer(const Layer& layer, const LayerParams& params, const std::string& source);
// The same, but moves params.weights into the result instead of copying it;
// biases and BatchNorm blocks stay in `params`. A [convolutional] layer whose
// kernel was deferred (params.weights empty) gets its biases folded and an
// empty kernel; fold_kernel folds the kernel once it is read.
FoldedLayer fold_layer_taking_weights(const Layer& layer, LayerParams& params, const std::string& source);
// Folds a [convolutional] layer's kernel (`floats` of them, as stored) in place.
void fold_kernel(const Layer& layer, const LayerParams& params, float* kernel, std::size_t floats,
                 const std::string& source);

}  // namespace dusk
