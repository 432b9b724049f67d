// Reference layers that move or combine tensors: route, shortcut, upsample,
// reorg, scale_channels, sam, softmax, batchnorm.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "engine/kernels/ref/ref_kernels.hpp"

namespace dusk::ref {

void route(const std::vector<const float*>& inputs, const std::vector<Shape>& shapes, int groups, int group_id,
           float* out) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::int64_t part = shapes[i].size() / groups;
    std::memcpy(out, inputs[i] + part * group_id, static_cast<std::size_t>(part) * sizeof(float));
    out += part;
  }
}

void shortcut(const float* in, const Shape& shape, const std::vector<const float*>& from,
              const std::vector<Shape>& from_shapes, const std::vector<float>& weights, ShortcutWeights type,
              float* out) {
  const std::int64_t plane = std::int64_t{shape.h} * shape.w;
  const std::int64_t per_source = type == ShortcutWeights::PerChannel ? shape.c : 1;
  // Weight of source s (0 = the input) for channel c.
  const auto weight = [&](std::size_t s, int c) {
    if (type == ShortcutWeights::None) return 1.0f;
    return weights[s * per_source + (type == ShortcutWeights::PerChannel ? c : 0)];
  };
  for (int c = 0; c < shape.c; ++c) {
    const float w = weight(0, c);
    for (std::int64_t i = 0; i < plane; ++i) out[c * plane + i] = in[c * plane + i] * w;
  }
  // Darknet adds element-wise over the flat index, so a source with fewer
  // channels adds into the first ones and extra channels are ignored.
  for (std::size_t s = 0; s < from.size(); ++s) {
    const Shape& source = from_shapes[s];
    const int channels = std::min(shape.c, source.c);
    if (source.h != shape.h || source.w != shape.w) {  // sampled: one source, no weights
      const ShortcutSampling sampling = shortcut_sampling(source, shape);
      for (int c = 0; c < channels; ++c) {
        for (int y = 0; y < sampling.h; ++y) {
          const float* from_row = from[s] + (std::int64_t{c} * source.h + y * sampling.stride) * source.w;
          float* out_row = out + (std::int64_t{c} * shape.h + y * sampling.step) * shape.w;
          for (int x = 0; x < sampling.w; ++x) out_row[x * sampling.step] += from_row[x * sampling.stride];
        }
      }
      continue;
    }
    for (int c = 0; c < channels; ++c) {
      const float w = weight(s + 1, c);
      for (std::int64_t i = 0; i < plane; ++i) out[c * plane + i] += from[s][c * plane + i] * w;
    }
  }
}

void centre_crop(const float* in, const Shape& in_shape, const CropSpec& spec, float* out, const Shape& out_shape) {
  const int top = (in_shape.h - out_shape.h) / 2;
  const int left = (in_shape.w - out_shape.w) / 2;
  for (int c = 0; c < out_shape.c; ++c) {
    for (int y = 0; y < out_shape.h; ++y) {
      const float* in_row = in + (std::int64_t{c} * in_shape.h + top + y) * in_shape.w + left;
      float* out_row = out + (std::int64_t{c} * out_shape.h + y) * out_shape.w;
      for (int x = 0; x < out_shape.w; ++x) out_row[x] = in_row[x] * spec.scale + spec.shift;
    }
  }
}

void upsample(const float* in, const Shape& in_shape, const UpsampleSpec& spec, float* out, const Shape& out_shape) {
  const int s = spec.stride;
  if (!spec.downsample) {
    for (int c = 0; c < out_shape.c; ++c) {
      for (int y = 0; y < out_shape.h; ++y) {
        const float* in_row = in + (std::int64_t{c} * in_shape.h + y / s) * in_shape.w;
        float* out_row = out + (std::int64_t{c} * out_shape.h + y) * out_shape.w;
        for (int x = 0; x < out_shape.w; ++x) out_row[x] = spec.scale * in_row[x / s];
      }
    }
    return;
  }
  std::fill(out, out + out_shape.size(), 0.0f);
  for (int c = 0; c < out_shape.c; ++c) {
    for (int y = 0; y < out_shape.h * s; ++y) {
      for (int x = 0; x < out_shape.w * s; ++x) {
        out[(std::int64_t{c} * out_shape.h + y / s) * out_shape.w + x / s] +=
            spec.scale * in[(std::int64_t{c} * in_shape.h + y) * in_shape.w + x];
      }
    }
  }
}

void darknet_reorg(const float* in, int w, int h, int c, int stride, bool forward, float* out) {
  const int in_c = c / (stride * stride);
  for (int k = 0; k < c; ++k) {
    for (int j = 0; j < h; ++j) {
      for (int i = 0; i < w; ++i) {
        const std::int64_t a = i + std::int64_t{w} * (j + std::int64_t{h} * k);
        const int c2 = k % in_c;
        const int offset = k / in_c;
        const int w2 = i * stride + offset % stride;
        const int h2 = j * stride + offset / stride;
        const std::int64_t b = w2 + std::int64_t{w} * stride * (h2 + std::int64_t{h} * stride * c2);
        if (forward) {
          out[b] = in[a];
        } else {
          out[a] = in[b];
        }
      }
    }
  }
}

void scale_channels(const float* in, const float* from, const Shape& from_shape, bool scale_wh, float* out) {
  const std::int64_t plane = std::int64_t{from_shape.h} * from_shape.w;
  for (int c = 0; c < from_shape.c; ++c) {
    for (std::int64_t i = 0; i < plane; ++i) {
      const float factor = scale_wh ? in[i] : in[c];
      out[c * plane + i] = factor * from[c * plane + i];
    }
  }
}

void multiply(const float* a, const float* b, std::int64_t count, float* out) {
  for (std::int64_t i = 0; i < count; ++i) out[i] = a[i] * b[i];
}

void softmax(const float* in, std::int64_t count, int groups, float temperature, float* out) {
  const std::int64_t n = count / groups;
  for (int g = 0; g < groups; ++g) {
    const float* x = in + g * n;
    float* y = out + g * n;
    float largest = -FLT_MAX;
    for (std::int64_t i = 0; i < n; ++i) largest = std::max(largest, x[i]);
    float sum = 0.f;
    for (std::int64_t i = 0; i < n; ++i) {
      y[i] = std::exp(x[i] / temperature - largest / temperature);
      sum += y[i];
    }
    for (std::int64_t i = 0; i < n; ++i) y[i] /= sum;
  }
}

void channel_affine(const float* in, const Shape& shape, const float* scales, const float* shifts, float* out) {
  const std::int64_t plane = std::int64_t{shape.h} * shape.w;
  for (int c = 0; c < shape.c; ++c) {
    for (std::int64_t i = 0; i < plane; ++i) out[c * plane + i] = in[c * plane + i] * scales[c] + shifts[c];
  }
}

}  // namespace dusk::ref
