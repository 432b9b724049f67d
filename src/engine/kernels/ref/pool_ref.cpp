// Reference pooling layers.
#include <cfloat>

#include "engine/kernels/ref/ref_kernels.hpp"

namespace dusk::ref {

namespace {

// Visits the in-bounds cells of output (y, x)'s window in channel plane `in_c`.
template <class Visit>
void for_window(const float* in_c, const Shape& in_shape, const PoolSpec& spec, int y, int x, Visit visit) {
  const int offset = -spec.padding / 2;
  for (int n = 0; n < spec.size; ++n) {
    const int iy = offset + y * spec.stride_y + n;
    if (iy < 0 || iy >= in_shape.h) continue;
    for (int m = 0; m < spec.size; ++m) {
      const int ix = offset + x * spec.stride_x + m;
      if (ix < 0 || ix >= in_shape.w) continue;
      visit(in_c[std::int64_t{iy} * in_shape.w + ix]);
    }
  }
}

}  // namespace

// Runs `reduce(window_visitor)` for every output cell of every channel.
template <class Reduce>
void pool(const float* in, const Shape& in_shape, const PoolSpec& spec, float* out, const Shape& out_shape, int threads,
          Reduce reduce) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int c = 0; c < out_shape.c; ++c) {
    const float* in_c = in + c * in_shape.h * std::int64_t{in_shape.w};
    float* out_c = out + c * out_shape.h * std::int64_t{out_shape.w};
    for (int y = 0; y < out_shape.h; ++y) {
      for (int x = 0; x < out_shape.w; ++x) {
        out_c[y * out_shape.w + x] = reduce([&](auto visit) { for_window(in_c, in_shape, spec, y, x, visit); });
      }
    }
  }
}

void maxpool(const float* in, const Shape& in_shape, const PoolSpec& spec, float* out, const Shape& out_shape,
             int threads) {
  pool(in, in_shape, spec, out, out_shape, threads, [](auto window) {
    float best = -FLT_MAX;
    window([&](float v) { best = v > best ? v : best; });
    return best;
  });
}

void local_avgpool(const float* in, const Shape& in_shape, const PoolSpec& spec, float* out, const Shape& out_shape,
                   int threads) {
  pool(in, in_shape, spec, out, out_shape, threads, [](auto window) {
    float sum = 0.f;
    int count = 0;
    window([&](float v) {
      sum += v;
      ++count;
    });
    return sum / static_cast<float>(count);
  });
}

void maxpool_depth(const float* in, const Shape& in_shape, float* out, const Shape& out_shape, int threads) {
  const std::int64_t plane = std::int64_t{in_shape.h} * in_shape.w;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t i = 0; i < plane; ++i) {
    for (int g = 0; g < out_shape.c; ++g) {
      float best = -FLT_MAX;
      for (int k = g; k < in_shape.c; k += out_shape.c) best = in[k * plane + i] > best ? in[k * plane + i] : best;
      out[g * plane + i] = best;
    }
  }
}

void global_avgpool(const float* in, const Shape& in_shape, float* out) {
  const std::int64_t plane = std::int64_t{in_shape.h} * in_shape.w;
  for (int c = 0; c < in_shape.c; ++c) {
    float sum = 0.f;
    for (std::int64_t i = 0; i < plane; ++i) sum += in[c * plane + i];
    out[c] = sum / static_cast<float>(plane);
  }
}

}  // namespace dusk::ref
