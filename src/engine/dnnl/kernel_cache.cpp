#include "engine/dnnl/kernel_cache.hpp"

#include <algorithm>
#include <cstring>

#include "dusk/error.hpp"
#include "engine/dnnl/winograd.hpp"
#include "engine/dnnl/winograd_kernel.hpp"
#include "util/text.hpp"

namespace dusk {

bool fast::is_winograd_layout(const dnnl::memory::desc& desc) { return desc.data.format_kind == dnnl_format_kind_wino; }

FastWeights::FastWeights() : impl(std::make_unique<Impl>()) {}
FastWeights::~FastWeights() = default;
void FastWeights::configure(int network_threads, double winograd_memory_share) {
  impl->configure(network_threads, winograd_memory_share);
}
void FastWeights::set_kernel_source(KernelSource source, std::size_t largest_kernel_floats) {
  impl->set_kernel_source(std::move(source), largest_kernel_floats);
}
bool FastWeights::holds_kernel(int layer) const { return impl->holds(layer); }

void FastWeights::Impl::configure(int network_threads, double winograd_memory_share) {
  const std::lock_guard<std::mutex> lock(mutex_);
  network_threads_ = network_threads;
  winograd_memory_share_ = winograd_memory_share;
}

void FastWeights::Impl::set_kernel_source(KernelSource source, std::size_t largest_kernel_floats) {
  const std::lock_guard<std::mutex> lock(mutex_);
  kernel_source_ = std::move(source);
  kernel_buffer_ = AlignedBuffer(kernel_source_ ? largest_kernel_floats * sizeof(float) : 0);
}

bool FastWeights::Impl::holds(int layer) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [index, desc, stored] : reordered_) {
    if (index == layer) return true;
  }
  return false;
}

std::vector<bool> FastWeights::Impl::winograd_choice(const Graph& graph) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!winograd_) winograd_ = fast::choose_winograd(graph, engine, winograd_memory_share_, network_threads_ > 1);
  return *winograd_;
}

bool FastWeights::Impl::can_make_layout(int layer, const std::vector<float>& plain) const {
  if (!plain.empty()) return true;
  const std::lock_guard<std::mutex> lock(mutex_);
  if (kernel_source_) return true;
  for (const auto& [index, desc, stored] : reordered_) {
    if (index == layer && !fast::is_winograd_layout(desc)) return true;
  }
  return false;
}

std::optional<FastWeights::Impl::Desc> FastWeights::Impl::winograd_layout(int layer) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [index, desc, stored] : reordered_) {
    if (index == layer && fast::is_winograd_layout(desc)) return desc;
  }
  return std::nullopt;
}

dnnl::memory FastWeights::Impl::in_layout(int layer, const std::string& describe, const Desc& user,
                                          std::vector<float>& plain, const Desc& wanted) {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::optional<dnnl::memory> source;
  for (const auto& [index, desc, stored] : reordered_) {
    if (index != layer) continue;
    if (desc == wanted) return stored;
    if (!fast::is_winograd_layout(desc)) source = stored;
  }
  const bool deferred = !source && plain.empty() && kernel_source_;
  if (!source && plain.empty() && !deferred) {
    throw Error(cat(describe, ": its kernel now lives only in a Winograd layout oneDNN cannot convert; "
                    "use the reference backend (NetworkOptions::backend = Backend::Reference) and report this"));
  }
  const std::size_t floats = user.get_size() / sizeof(float);
  float* kernel = deferred ? static_cast<float*>(kernel_buffer_.data()) : plain.data();
  if (deferred) kernel_source_(layer, kernel);
  dnnl::memory target(wanted, engine, storage_.allocate(wanted.get_size()));
  const auto& dims = user.data.dims;
  const bool transformed = !source && user.data.ndims == 4 &&
                           fast::transform_winograd_kernel(kernel, static_cast<int>(dims[0]), static_cast<int>(dims[1]),
                                                           wanted, static_cast<float*>(target.get_data_handle()));
  if (!transformed) {
    if (!source) source = dnnl::memory(user, engine, kernel);
    dnnl::stream stream(engine);
    dnnl::reorder(*source, target).execute(stream, *source, target);
    stream.wait();
  }
  reordered_.emplace_back(layer, wanted, target);
  const bool pinned = std::find(pinned_.begin(), pinned_.end(), layer) != pinned_.end();
  const bool keep_plain = pinned || (fast::is_winograd_layout(wanted) && network_threads_ > 1);
  if (keep_plain && deferred) {  // populated up front: one fault per huge page, not per 4 KiB
    resize_prefaulted(plain, floats);
    std::memcpy(plain.data(), kernel, floats * sizeof(float));
  }
  if (!keep_plain) std::vector<float>().swap(plain);
  return target;
}

bool FastWeights::Impl::pin_plain(int layer, const Desc& user, std::vector<float>& plain) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (plain.empty()) {
    std::optional<dnnl::memory> stored_plainly;
    for (const auto& [index, desc, stored] : reordered_) {
      if (index == layer && !fast::is_winograd_layout(desc)) stored_plainly = stored;
    }
    if (!kernel_source_ && !stored_plainly) return false;
    resize_prefaulted(plain, user.get_size() / sizeof(float));
    if (kernel_source_) {
      kernel_source_(layer, plain.data());
    } else {  // back out of a blocked layout: a reorder both ways is exact
      dnnl::memory target(user, engine, plain.data());
      dnnl::stream stream(engine);
      dnnl::reorder(*stored_plainly, target).execute(stream, *stored_plainly, target);
      stream.wait();
    }
  }
  if (std::find(pinned_.begin(), pinned_.end(), layer) == pinned_.end()) pinned_.push_back(layer);
  return true;
}

}  // namespace dusk
