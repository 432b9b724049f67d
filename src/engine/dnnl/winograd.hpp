#pragma once
// Which convolutions run as Winograd convolutions. oneDNN's Winograd kernels
// (F(4x4,3x3) and F(2x2,3x3), AVX-512) do a 3x3 stride-1 convolution 1.4-2x
// faster than its direct kernels at one thread, but hold the kernel in a
// transformed layout 1.8-4x its size, and fuse no activation except relu.
// Time saved grows with the output's area, memory spent with the kernel's
// size, so the layers with the most work per extra byte are chosen first,
// within a memory budget.
#include <oneapi/dnnl/dnnl.hpp>

#include <vector>

#include "dusk/graph.hpp"

namespace dusk::fast {

// A 3x3, stride-1, undilated, ungrouped convolution of 16 or more channels
// that keeps the input's size (oneDNN's Winograd kernels need all of that,
// and lose to direct ones on fewer channels).
bool winograd_shaped(const Layer& layer);

// Per layer: run it as a Winograd convolution. The transformed kernels may
// add at most `memory_share` of the network's kernel bytes, or
// kWinogradMemoryFloorBytes when that is more (none when the share is 0);
// `keeps_plain_kernel`: the plain kernel stays in memory next to the
// transformed one, so it counts against the budget too. Primitive descriptors are created under the
// caller's thread setting, as the plans that use them will be.
std::vector<bool> choose_winograd(const Graph& graph, const dnnl::engine& engine, double memory_share,
                                  bool keeps_plain_kernel);

}  // namespace dusk::fast
