#pragma once
// Transforming a 3x3 kernel into the layout of oneDNN's F(4x4,3x3) Winograd
// convolution (AVX-512). oneDNN's own reorder into that layout runs scalar
// loops over a scratch copy and took 166 ms of yolov4's load for 15 layers;
// this one does the same arithmetic 16 output channels at a time and writes
// each value once.
#include <oneapi/dnnl/dnnl.hpp>

namespace dusk::fast {

// Writes U = G·w·Gᵀ for every (output, input) channel pair of `kernel`
// (OIHW, `out_channels` x `in_channels` x 3 x 3) into `target`, laid out as
// `layout` says, channels beyond the kernel's zero. Returns false, writing
// nothing, when `layout` is not the F(4x4,3x3) fp32 one this knows (then
// let oneDNN reorder).
bool transform_winograd_kernel(const float* kernel, int out_channels, int in_channels,
                               const dnnl::memory::desc& layout, float* target);

}  // namespace dusk::fast
