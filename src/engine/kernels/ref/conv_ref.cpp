// Reference convolution and fully connected layer.
#include <algorithm>

#include "engine/kernels/ref/ref_kernels.hpp"

namespace dusk::ref {

void conv2d(const float* in, const Shape& in_shape, const float* weights, const float* biases,
            const ConvSpec& spec, float* out, const Shape& out_shape, int threads) {
  const int in_per_group = in_shape.c / spec.groups;
  const int out_per_group = spec.filters / spec.groups;
  const int k = spec.size;
  const int d = spec.dilation;
  const int pad = spec.pad * spec.dilation;
  const std::int64_t in_plane = std::int64_t{in_shape.h} * in_shape.w;
  const std::int64_t out_plane = std::int64_t{out_shape.h} * out_shape.w;

#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int f = 0; f < spec.filters; ++f) {
    float* out_f = out + f * out_plane;
    std::fill(out_f, out_f + out_plane, biases[f]);
    const int first_channel = (f / out_per_group) * in_per_group;
    const float* w_f = weights + std::int64_t{f} * in_per_group * k * k;
    for (int ci = 0; ci < in_per_group; ++ci) {
      const float* in_c = in + (first_channel + ci) * in_plane;
      for (int ky = 0; ky < k; ++ky) {
        for (int kx = 0; kx < k; ++kx) {
          const float w = w_f[(ci * k + ky) * k + kx];
          const int x_offset = kx * d - pad;
          // Output columns whose input column x*stride + x_offset is inside.
          int x_begin = 0;
          while (x_begin < out_shape.w && x_begin * spec.stride_x + x_offset < 0) ++x_begin;
          int x_end = out_shape.w;
          while (x_end > x_begin && (x_end - 1) * spec.stride_x + x_offset >= in_shape.w) --x_end;
          for (int y = 0; y < out_shape.h; ++y) {
            const int iy = y * spec.stride_y + ky * d - pad;
            if (iy < 0 || iy >= in_shape.h) continue;
            const float* in_row = in_c + std::int64_t{iy} * in_shape.w;
            float* out_row = out_f + std::int64_t{y} * out_shape.w;
            for (int x = x_begin; x < x_end; ++x) out_row[x] += w * in_row[x * spec.stride_x + x_offset];
          }
        }
      }
    }
  }
}

void connected(const float* in, std::int64_t inputs, const float* weights, const float* biases, int outputs,
               float* out, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int o = 0; o < outputs; ++o) {
    const float* row = weights + o * inputs;
    float sum = 0.f;
    for (std::int64_t i = 0; i < inputs; ++i) sum += row[i] * in[i];
    out[o] = sum + biases[o];
  }
}

}  // namespace dusk::ref
