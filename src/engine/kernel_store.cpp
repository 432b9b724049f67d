#include "engine/kernel_store.hpp"

#include <cstring>

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk {

KernelStore::KernelStore(std::vector<FoldedLayer> folded, std::vector<std::size_t> kernel_floats)
    : folded_(std::move(folded)), kernel_floats_(std::move(kernel_floats)), pinned_(folded_.size(), false) {
  if (kernel_floats_.size() != folded_.size()) throw Error("KernelStore: one kernel size per layer is needed");
}

const FoldedLayer& KernelStore::plain(int layer, const std::string& describe) {
  const std::size_t at = static_cast<std::size_t>(layer);
  std::unique_lock<std::mutex> lock(mutex_);
  FoldedLayer& params = folded_[at];
  if (pinned_[at] || params.weights.size() == kernel_floats_[at]) {
    pinned_[at] = true;
    return params;
  }
  std::vector<float> kernel;
  resize_prefaulted(kernel, kernel_floats_[at]);
  if (source_) {
    source_(layer, kernel.data());
  } else {
    // The restorer takes the backend's own lock: never call it holding ours,
    // since the backend holds its lock when it calls use_kernel.
    const KernelRestorer restorer = restorer_;
    lock.unlock();
    const bool restored = restorer && restorer(layer, kernel.data());
    lock.lock();
    if (!restored) {
      throw Error({cat(describe, ": its kernel now lives only in a layout it cannot be converted back from; "
                                 "use the reference backend ("),
                   Option::Backend, " ref) and report this"});
    }
  }
  if (params.weights.size() != kernel_floats_[at]) params.weights = std::move(kernel);
  pinned_[at] = true;
  return params;
}

const std::vector<float>& KernelStore::biases(int layer) const {
  return folded_[static_cast<std::size_t>(layer)].biases;  // never changes after construction
}

std::size_t KernelStore::kernel_floats(int layer) const { return kernel_floats_[static_cast<std::size_t>(layer)]; }

bool KernelStore::holds_plain(int layer) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t at = static_cast<std::size_t>(layer);
  return kernel_floats_[at] > 0 && folded_[at].weights.size() == kernel_floats_[at];
}

bool KernelStore::kernel_available(int layer) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t at = static_cast<std::size_t>(layer);
  return kernel_floats_[at] > 0 && (folded_[at].weights.size() == kernel_floats_[at] || source_);
}

void KernelStore::use_kernel(int layer, const std::function<void(const float*)>& use, bool keep_plain) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t at = static_cast<std::size_t>(layer);
  std::vector<float>& held = folded_[at].weights;
  const std::size_t floats = kernel_floats_[at];
  if (floats > 0 && held.size() == floats) {
    use(held.data());
    if (!keep_plain && !pinned_[at]) std::vector<float>().swap(held);
    return;
  }
  if (floats == 0 || !source_ || source_buffer_.size() < floats * sizeof(float)) {
    throw Error(cat("layer ", layer, ": its plain kernel is no longer held (KernelStore)"));
  }
  float* kernel = static_cast<float*>(source_buffer_.data());
  source_(layer, kernel);
  use(kernel);
  if (keep_plain || pinned_[at]) {  // populated up front: one fault per huge page, not per 4 KiB
    resize_prefaulted(held, floats);
    std::memcpy(held.data(), kernel, floats * sizeof(float));
  }
}

void KernelStore::load_plain(int layer) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t at = static_cast<std::size_t>(layer);
  std::vector<float>& held = folded_[at].weights;
  if (!source_ || kernel_floats_[at] == 0 || held.size() == kernel_floats_[at]) return;
  resize_prefaulted(held, kernel_floats_[at]);
  source_(layer, held.data());
}

void KernelStore::set_kernel_source(KernelSource source, std::size_t largest_floats) {
  const std::lock_guard<std::mutex> lock(mutex_);
  source_ = std::move(source);
  source_buffer_ = AlignedBuffer(source_ ? largest_floats * sizeof(float) : 0);
}

void KernelStore::set_restorer(KernelRestorer restorer) {
  const std::lock_guard<std::mutex> lock(mutex_);
  restorer_ = std::move(restorer);
}

}  // namespace dusk
