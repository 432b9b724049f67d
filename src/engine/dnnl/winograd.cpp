#include "engine/dnnl/winograd.hpp"

#include <algorithm>

#include "dusk/network.hpp"
#include "engine/dnnl/conv_desc.hpp"
#include "engine/dnnl/fast_steps.hpp"

namespace dusk::fast {

bool winograd_shaped(const Layer& layer) {
  if (layer.kind != LayerKind::Convolutional) return false;
  const ConvSpec& s = layer.as<ConvSpec>();
  return s.groups == 1 && s.size == 3 && s.stride_x == 1 && s.stride_y == 1 && s.dilation == 1 && layer.in.c >= 16 &&
         s.filters >= 16 && layer.out.h == layer.in.h && layer.out.w == layer.in.w;
}

namespace {

struct Candidate {
  int layer = 0;
  double flops = 0;
  double extra_bytes = 0;
};

}  // namespace

std::vector<bool> choose_winograd(const Graph& graph, const dnnl::engine& engine, double memory_share,
                                  bool keeps_plain_kernel) {
  std::vector<bool> chosen(graph.layers.size(), false);
  if (!(memory_share > 0)) return chosen;  // off (or not a number)
  std::vector<Candidate> candidates;
  double kernel_bytes = 0;
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  for (const Layer& layer : graph.layers) {
    if (layer.kind != LayerKind::Convolutional) continue;
    const ConvDesc conv(layer);
    const double plain = static_cast<double>(conv.user_weights.get_size());
    kernel_bytes += plain;
    if (!winograd_shaped(layer)) continue;
    try {
      const auto pd = conv.make(dnnl::algorithm::convolution_winograd, conv.src_any, conv.weights_any, conv.dst_any,
                                attr, engine);
      if (is_reference_impl(pd)) continue;
      const double transformed = static_cast<double>(pd.weights_desc().get_size());
      const double extra = transformed - (keeps_plain_kernel ? 0.0 : plain);
      const double flops = 2.0 * (plain / sizeof(float)) * layer.out.h * layer.out.w;
      candidates.push_back({layer.index, flops, std::max(extra, 1.0)});
    } catch (const dnnl::error&) {
      // no Winograd kernel for this CPU or shape
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.flops / a.extra_bytes > b.flops / b.extra_bytes;
  });
  double budget = std::max(memory_share * kernel_bytes, static_cast<double>(kWinogradMemoryFloorBytes));
  for (const Candidate& candidate : candidates) {
    if (candidate.extra_bytes > budget) continue;
    budget -= candidate.extra_bytes;
    chosen[static_cast<std::size_t>(candidate.layer)] = true;
  }
  return chosen;
}

}  // namespace dusk::fast
