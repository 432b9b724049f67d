#include "engine/dnnl/winograd_kernel.hpp"

#include <array>
#include <cstddef>

namespace dusk::fast {
namespace {

constexpr int kTaps = 3;      // r: the kernel's side
constexpr int kMaxAlpha = 6;  // α = m + r - 1: the side of a transformed tile
constexpr int kMaxBlock = 64;

using GMatrix = std::array<std::array<float, kTaps>, kMaxAlpha>;

// G as oneDNN's kernels expect it: row i is s_i·[1, p_i, p_i²] for the
// interpolation points p_i, and the last row [0, 0, 1] (the point at
// infinity). Their input and output transforms are built for exactly these
// rows. F(2x2,3x3): p = 0, ±1 with s = 1, 1/2, 1/2. F(4x4,3x3): p = 0, ±5/8,
// ±3/2 with oneDNN's scales s.
GMatrix winograd_g(int alpha) {
  const double f2_scales[] = {1, 0.5, 0.5};
  const double f2_points[] = {0, 1, -1};
  const double f4_scales[] = {256.0 / 225.0, -2048.0 / 2975.0, -2048.0 / 2975.0, 128.0 / 1071.0, 128.0 / 1071.0};
  const double f4_points[] = {0, 0.625, -0.625, 1.5, -1.5};
  const double* scales = alpha == 4 ? f2_scales : f4_scales;
  const double* points = alpha == 4 ? f2_points : f4_points;
  GMatrix g{};
  for (int i = 0; i + 1 < alpha; ++i) {
    g[i] = {static_cast<float>(scales[i]), static_cast<float>(scales[i] * points[i]),
            static_cast<float>(scales[i] * points[i] * points[i])};
  }
  g[alpha - 1] = {0.f, 0.f, 1.f};
  return g;
}

// Where each of oneDNN's fp32 Winograd weight layouts keeps U[u_h][u_w] for
// one (output, input) channel pair. Channels are split into blocks
// (oc_block, ic_block), blocks into groups (oc2, ic2) and groups into chunks;
// the output channel within its block is always innermost.
struct WinogradLayout {
  dnnl_wino_memory_format_t format;
  int alpha, oc, ic, oc_block, ic_block, oc2, ic2;

  std::size_t offset(int out, int in, int u_h, int u_w) const {
    const int o = out % oc_block, ob = out / oc_block % oc2, oc_chunk = out / (oc_block * oc2);
    const int i = in % ic_block, ib = in / ic_block % ic2, ic_chunk = in / (ic_block * ic2);
    const int nb_oc = oc / oc_block, nb_ic = ic / ic_block;
    std::size_t at = 0;
    const auto then = [&at](int index, int count) {  // appends one more index, outer to inner
      at = at * static_cast<std::size_t>(count) + static_cast<std::size_t>(index);
    };
    switch (format) {
      case dnnl_wino_wei_OBaaIBOIio:  // F(4x4,3x3)
        then(oc_chunk, 1), then(u_h, alpha), then(u_w, alpha), then(ic_chunk, ic / (ic_block * ic2)), then(ob, oc2),
            then(ib, ic2), then(i, ic_block);
        break;
      case dnnl_wino_wei_aaOBiOo:  // F(2x2,3x3), batch at least the thread count
        then(u_h, 1), then(u_w, alpha), then(oc_chunk, oc / (oc_block * oc2)), then(in / ic_block, nb_ic),
            then(i, ic_block), then(ob, oc2);
        break;
      default:  // dnnl_wino_wei_aaOio: F(2x2,3x3), a smaller batch
        then(u_h, 1), then(u_w, alpha), then(out / oc_block, nb_oc), then(in / ic_block, nb_ic), then(i, ic_block);
        break;
    }
    then(o, oc_block);
    return at;
  }
};

bool known_layout(const dnnl_memory_desc_t& desc) {
  if (desc.format_kind != dnnl_format_kind_wino || desc.data_type != dnnl_f32 || desc.ndims != 4) return false;
  const dnnl_wino_desc_t& w = desc.format_desc.wino_desc;
  const bool format_ok = (w.wino_format == dnnl_wino_wei_OBaaIBOIio && w.alpha == 6) ||
                         ((w.wino_format == dnnl_wino_wei_aaOBiOo || w.wino_format == dnnl_wino_wei_aaOio) &&
                          w.alpha == 4 && w.ic2_block == 1);
  const bool blocks_ok = w.oc_block > 0 && w.oc_block <= kMaxBlock && w.ic_block > 0 && w.oc2_block > 0 &&
                         w.ic2_block > 0 && w.oc % (w.oc_block * w.oc2_block) == 0 &&
                         w.ic % (w.ic_block * w.ic2_block) == 0;
  const std::size_t floats = static_cast<std::size_t>(w.alpha * w.alpha) * static_cast<std::size_t>(w.oc) *
                             static_cast<std::size_t>(w.ic);
  return format_ok && blocks_ok && w.r == kTaps && w.adj_scale == 1.f && desc.dims[2] == kTaps &&
         desc.dims[3] == kTaps && w.oc >= desc.dims[0] && w.ic >= desc.dims[1] && w.size == floats * sizeof(float);
}

}  // namespace

bool transform_winograd_kernel(const float* kernel, int out_channels, int in_channels,
                               const dnnl::memory::desc& layout, float* target) {
  const dnnl_memory_desc_t& desc = layout.data;
  if (!known_layout(desc) || desc.dims[0] != out_channels || desc.dims[1] != in_channels) return false;
  const dnnl_wino_desc_t& w = desc.format_desc.wino_desc;
  const WinogradLayout at{w.wino_format, w.alpha, w.oc, w.ic, w.oc_block, w.ic_block, w.oc2_block, w.ic2_block};
  const int alpha = w.alpha;
  const GMatrix g = winograd_g(alpha);
  const int block = w.oc_block;
  const std::size_t kernel_stride = static_cast<std::size_t>(in_channels) * kTaps * kTaps;

  // One block of output channels and one input channel at a time; the lane
  // index o runs over the block, so every loop below vectorises.
  float taps[kTaps * kTaps][kMaxBlock];
  float half[kTaps][kMaxAlpha][kMaxBlock];  // w·Gᵀ
  for (int first = 0; first < w.oc; first += block) {
    for (int in = 0; in < w.ic; ++in) {
      for (int o = 0; o < block; ++o) {
        const int out = first + o;
        if (out >= out_channels || in >= in_channels) {  // padding channels
          for (int t = 0; t < kTaps * kTaps; ++t) taps[t][o] = 0.f;
          continue;
        }
        const float* from =
            kernel + static_cast<std::size_t>(out) * kernel_stride + static_cast<std::size_t>(in) * kTaps * kTaps;
        for (int t = 0; t < kTaps * kTaps; ++t) taps[t][o] = from[t];
      }
      for (int k = 0; k < kTaps; ++k) {
        for (int j = 0; j < alpha; ++j) {
          for (int o = 0; o < block; ++o) {
            half[k][j][o] = taps[k * kTaps][o] * g[j][0] + taps[k * kTaps + 1][o] * g[j][1] +
                            taps[k * kTaps + 2][o] * g[j][2];
          }
        }
      }
      for (int i = 0; i < alpha; ++i) {
        for (int j = 0; j < alpha; ++j) {
          float* to = target + at.offset(first, in, i, j);  // the block's lanes are adjacent
          for (int o = 0; o < block; ++o) {
            to[o] = g[i][0] * half[0][j][o] + g[i][1] * half[1][j][o] + g[i][2] * half[2][j][o];
          }
        }
      }
    }
  }
  return true;
}

}  // namespace dusk::fast
