#pragma once
// The kernel cache behind FastWeights: every convolution kernel of one
// network in the oneDNN layouts its plans asked for, each layout of each
// layer made once and shared by all plans. It owns its lock; plans only call
// these methods.
//
// The plain folded kernels belong to the network's KernelStore
// (engine/kernel_store.hpp), which states their lifetime. The first layout
// of a layer is made from the store's plain kernel, and the store then
// releases its copy, except when
//   - a reference step has pinned it (KernelStore::plain), or
//   - only a Winograd layout would be left on a network that may need
//     another (oneDNN reorders into Winograd layouts, never out of them).
// Later layouts are made from a stored non-Winograd one, and this cache is
// the store's restorer: a released plain kernel is reordered back out of a
// stored f32 blocked layout (exact) when a reference step needs it again.
// Lock order: this cache's lock, then the store's; never the other way.
#include <oneapi/dnnl/dnnl.hpp>

#include <mutex>
#include <optional>
#include <tuple>
#include <vector>

#include "engine/dnnl/fast_plan.hpp"
#include "engine/kernel_store.hpp"
#include "util/memory.hpp"

namespace dusk {

namespace fast {
// Winograd-transformed kernels: oneDNN reorders into them, never out of them.
bool is_winograd_layout(const dnnl::memory::desc& desc);
}  // namespace fast

struct FastWeights::Impl {
  using Desc = dnnl::memory::desc;

  dnnl::engine engine{dnnl::engine::kind::cpu, 0};

  void configure(int network_threads, double winograd_memory_share, KernelStore& store);
  bool holds(int layer) const;

  // Per layer: run it as a Winograd convolution; chosen once, with the first plan.
  std::vector<bool> winograd_choice(const Graph& graph);
  // Whether the layer's kernel can still be put into a new layout of data
  // type `type`: the store can hand it out, or a layout it converts from
  // exactly is stored (see exact_source).
  bool can_make_layout(int layer, dnnl::memory::data_type type) const;
  // The Winograd layout an earlier plan stored this layer's kernel in, if any.
  std::optional<Desc> winograd_layout(int layer) const;
  // The layer's kernel in `wanted` (its plain layout being `user`), made
  // once: from the store's plain kernel the first time, from a stored
  // layout after that. `describe` names the layer in errors.
  // An s8 `wanted` is quantized per output channel with weight_scales.
  dnnl::memory in_layout(int layer, const std::string& describe, const Desc& user, const Desc& wanted);
  // int8: per output channel, its largest |w| / 127 (1 for an all-zero
  // channel), from the plain kernel (which int8 keeps); made once.
  std::vector<float> weight_scales(int layer, const Desc& user);

 private:
  mutable std::mutex mutex_;
  // The store's restorer: the plain kernel reordered out of a stored f32
  // non-Winograd layout. False when there is none.
  bool write_plain(int layer, float* out) const;
  // A stored layout of the layer that converts into `type` without loss:
  // not Winograd, and f32 or already `type` (a bf16 kernel cannot give back
  // its fp32 one). Caller holds the lock.
  std::optional<dnnl::memory> exact_source(int layer, dnnl::memory::data_type type) const;

  KernelStore* store_ = nullptr;
  std::vector<std::tuple<int, Desc, dnnl::memory>> reordered_;  // layer, layout, data
  std::vector<std::pair<int, Desc>> user_layouts_;              // layer, its plain layout
  std::vector<std::pair<int, std::vector<float>>> weight_scales_;  // layer, int8 scale per output channel
  Arena storage_;                                               // what those memories point into
  int network_threads_ = 1;
  double winograd_memory_share_ = kDefaultWinogradMemoryShare;
  std::optional<std::vector<bool>> winograd_;
};

}  // namespace dusk
