#pragma once
// The kernel cache behind FastWeights: every convolution kernel of one
// network in the oneDNN layouts its plans asked for, each layout of each
// layer made once and shared by all plans. It owns its lock; plans only call
// these methods.
//
// Lifetime of a kernel: it starts as the folded plain kernel in the
// network's FoldedLayer (or, while Network::load runs, still in the weights
// file, read through the kernel source). The first layout made from it is
// stored here and the plain copy is released, unless
//   - a plan runs the layer on the reference kernels (they read the plain
//     copy for as long as the network lives: pin_plain), or
//   - only a Winograd layout would be left on a network that may need
//     another (oneDNN reorders into Winograd layouts, never out of them).
// Later layouts are made from a stored non-Winograd one, and a released plain
// copy is restored from one when a reference step needs it again.
#include <oneapi/dnnl/dnnl.hpp>

#include <mutex>
#include <optional>
#include <tuple>
#include <vector>

#include "engine/dnnl/fast_plan.hpp"
#include "util/memory.hpp"

namespace dusk {

namespace fast {
// Winograd-transformed kernels: oneDNN reorders into them, never out of them.
bool is_winograd_layout(const dnnl::memory::desc& desc);
}  // namespace fast

struct FastWeights::Impl {
  using Desc = dnnl::memory::desc;

  dnnl::engine engine{dnnl::engine::kind::cpu, 0};

  void configure(int network_threads, double winograd_memory_share);
  void set_kernel_source(KernelSource source, std::size_t largest_kernel_floats);
  bool holds(int layer) const;

  // Per layer: run it as a Winograd convolution; chosen once, with the first plan.
  std::vector<bool> winograd_choice(const Graph& graph);
  // Whether the layer's kernel can still be put into a new layout: `plain`
  // holds it, the kernel source can read it, or a non-Winograd layout is stored.
  bool can_make_layout(int layer, const std::vector<float>& plain) const;
  // The Winograd layout an earlier plan stored this layer's kernel in, if any.
  std::optional<Desc> winograd_layout(int layer) const;
  // The layer's kernel in `wanted` (its plain layout being `user`), made
  // once: from `plain` the first time (released afterwards, see above), from
  // the kernel source while loading, from a stored layout after that.
  // `describe` names the layer in errors.
  dnnl::memory in_layout(int layer, const std::string& describe, const Desc& user, std::vector<float>& plain,
                         const Desc& wanted);
  // For a layer a plan runs on the reference kernels: refills `plain` (plain
  // layout `user`) if an earlier plan released it, from the kernel source or
  // a stored non-Winograd layout, and keeps it from being released again.
  // False when it cannot be restored (only a Winograd layout is left).
  bool pin_plain(int layer, const Desc& user, std::vector<float>& plain);

 private:
  mutable std::mutex mutex_;
  std::vector<std::tuple<int, Desc, dnnl::memory>> reordered_;  // layer, layout, data
  Arena storage_;                                               // what those memories point into
  int network_threads_ = 1;
  double winograd_memory_share_ = kDefaultWinogradMemoryShare;
  std::optional<std::vector<bool>> winograd_;
  std::vector<int> pinned_;     // layers whose plain kernel reference steps read
  KernelSource kernel_source_;  // while loading: deferred kernels
  AlignedBuffer kernel_buffer_;  // where they are read into, one at a time
};

}  // namespace dusk
