#pragma once
// The reference kernels: plain loops that say what each layer computes, in
// Darknet's exact semantics. They are the oracle every optimised kernel is
// tested against, so clarity wins over speed here.
#include <vector>

#include "dusk/graph.hpp"

namespace dusk::ref {

// Convolution with BatchNorm already folded: out = bias + sum(w * in),
// zero padding of spec.pad * spec.dilation pixels (as Darknet's im2col).
// The activation is not applied.
void conv2d(const float* in, const Shape& in_shape, const float* weights, const float* biases,
            const ConvSpec& spec, float* out, const Shape& out_shape, int threads);

// out[o] = bias[o] + sum_i w[o][i] * in[i].
void connected(const float* in, std::int64_t inputs, const float* weights, const float* biases, int outputs,
               float* out, int threads);

// Darknet's maxpool and local_avgpool: windows start at -padding/2; cells
// outside the input are skipped (they never win a max, nor count in a mean).
void maxpool(const float* in, const Shape& in_shape, const PoolSpec& spec, float* out, const Shape& out_shape,
             int threads);
void local_avgpool(const float* in, const Shape& in_shape, const PoolSpec& spec, float* out, const Shape& out_shape,
                   int threads);
// maxpool_depth=1: out channel g is the max over input channels g, g+out_c, ...
void maxpool_depth(const float* in, const Shape& in_shape, float* out, const Shape& out_shape, int threads);
// [avgpool]: mean of each channel.
void global_avgpool(const float* in, const Shape& in_shape, float* out);

// [route]: concatenates slice group_id of `groups` equal channel slices of each input.
void route(const std::vector<const float*>& inputs, const std::vector<Shape>& shapes, int groups, int group_id,
           float* out);

// [shortcut]: out = in*w0 + sum_k from_k*w_k over the first channels both
// have; weights empty means all weights are 1. The activation is not applied.
void shortcut(const float* in, const Shape& shape, const std::vector<const float*>& from,
              const std::vector<Shape>& from_shapes, const std::vector<float>& weights, ShortcutWeights type,
              float* out);

// [crop] in Darknet's test mode: the centred out_shape window (offsets
// (in - out) / 2, rounded down), each value times spec.scale plus spec.shift.
void centre_crop(const float* in, const Shape& in_shape, const CropSpec& spec, float* out, const Shape& out_shape);

// [upsample]: nearest neighbour times scale; with downsample, each output is
// scale times the sum of its stride x stride block (Darknet's reverse mode).
void upsample(const float* in, const Shape& in_shape, const UpsampleSpec& spec, float* out, const Shape& out_shape);

// Darknet's reorg_cpu index mapping over a (w, h, c) tensor; `forward`
// selects its direction. [reorg3d] and old [reorg] call it differently.
void darknet_reorg(const float* in, int w, int h, int c, int stride, bool forward, float* out);

// [yolo]: logistic on x, y, objectness and classes (skipped with new_coords),
// then x, y scaled by scale_x_y about 0.5. In place.
void yolo_activate(float* data, const Shape& shape, const YoloSpec& spec);
// [Gaussian_yolo]: logistic on x, y (means and sigmas), the w and h sigmas,
// objectness and classes; x and y means scaled by scale_x_y. In place.
void gaussian_yolo_activate(float* data, const Shape& shape, const YoloSpec& spec);
// [region]: logistic on x, y and objectness; softmax over classes if set. In place.
void region_activate(float* data, const Shape& shape, const RegionSpec& spec);

// [scale_channels]: from[c][y][x] * in[c] (or in[0][y][x] with scale_wh).
void scale_channels(const float* in, const float* from, const Shape& from_shape, bool scale_wh, float* out);
// [sam]: element-wise product.
void multiply(const float* a, const float* b, std::int64_t count, float* out);

// [softmax]: over `groups` equal slices, with temperature.
void softmax(const float* in, std::int64_t count, int groups, float temperature, float* out);

// [batchnorm] with folded parameters: out = in * scale[c] + shift[c].
void channel_affine(const float* in, const Shape& shape, const float* scales, const float* shifts, float* out);

}  // namespace dusk::ref
