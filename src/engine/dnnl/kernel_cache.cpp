#include "engine/dnnl/kernel_cache.hpp"

#include <algorithm>
#include <cmath>

#include "dusk/error.hpp"
#include "engine/dnnl/winograd.hpp"
#include "engine/dnnl/winograd_kernel.hpp"
#include "dusk/text.hpp"

namespace dusk {

bool fast::is_winograd_layout(const dnnl::memory::desc& desc) { return desc.data.format_kind == dnnl_format_kind_wino; }

FastWeights::FastWeights() : impl(std::make_unique<Impl>()) {}
FastWeights::~FastWeights() = default;
void FastWeights::configure(int network_threads, double winograd_memory_share, KernelStore& store) {
  impl->configure(network_threads, winograd_memory_share, store);
}
bool FastWeights::holds_kernel(int layer) const { return impl->holds(layer); }

void FastWeights::Impl::configure(int network_threads, double winograd_memory_share, KernelStore& store) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    network_threads_ = network_threads;
    winograd_memory_share_ = winograd_memory_share;
    store_ = &store;
  }
  store.set_restorer([this](int layer, float* out) { return write_plain(layer, out); });
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

std::optional<dnnl::memory> FastWeights::Impl::exact_source(int layer, dnnl::memory::data_type type) const {
  for (const auto& [index, desc, stored] : reordered_) {
    const bool lossless = desc.data_type() == dnnl::memory::data_type::f32 || desc.data_type() == type;
    if (index == layer && !fast::is_winograd_layout(desc) && lossless) return stored;
  }
  return std::nullopt;
}

bool FastWeights::Impl::can_make_layout(int layer, dnnl::memory::data_type type) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return store_->kernel_available(layer) || exact_source(layer, type).has_value();
}

std::optional<FastWeights::Impl::Desc> FastWeights::Impl::winograd_layout(int layer) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [index, desc, stored] : reordered_) {
    if (index == layer && fast::is_winograd_layout(desc)) return desc;
  }
  return std::nullopt;
}

dnnl::memory FastWeights::Impl::in_layout(int layer, const std::string& describe, const Desc& user,
                                          const Desc& wanted) {
  const std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [index, desc, stored] : reordered_) {
    if (index == layer && desc == wanted) return stored;
  }
  const std::optional<dnnl::memory> source = exact_source(layer, wanted.data_type());
  if (!source && !store_->kernel_available(layer)) {
    throw Error({cat(describe, ": its kernel now lives only in layouts it cannot be converted from exactly; "
                               "use the reference backend ("),
                 Option::Backend, " ref) and report this"});
  }
  dnnl::memory target(wanted, engine, storage_.allocate(wanted.get_size()));
  const bool int8 = wanted.data_type() == dnnl::memory::data_type::s8;
  dnnl::primitive_attr quantize;
  if (int8) {
    std::vector<float> inverse;
    for (const auto& [index, scales] : weight_scales_) {
      if (index == layer) inverse = scales;
    }
    if (inverse.empty()) throw Error(cat(describe, ": int8 kernel asked for before its scales (a dusk bug; report it)"));
    for (float& scale : inverse) scale = 1.0f / scale;
    quantize.set_output_scales(user.data.ndims == 5 ? 0b11 : 0b1, inverse);  // per (group,) output channel
  }
  const auto reorder_from = [&](dnnl::memory from) {
    dnnl::stream stream(engine);
    dnnl::reorder(dnnl::reorder::primitive_desc(from, target, quantize)).execute(stream, from, target);
    stream.wait();
  };
  if (source) {
    reorder_from(*source);
  } else {
    const auto& dims = user.data.dims;
    const auto convert = [&](const float* kernel) {
      const bool transformed =
          !int8 && user.data.ndims == 4 && fast::transform_winograd_kernel(kernel, static_cast<int>(dims[0]),
                                                                  static_cast<int>(dims[1]), wanted,
                                                                  static_cast<float*>(target.get_data_handle()));
      if (!transformed) reorder_from(dnnl::memory(user, engine, const_cast<float*>(kernel)));
    };
    // Neither a Winograd nor an s8 layout converts back exactly.
    const bool keep_plain = (fast::is_winograd_layout(wanted) && network_threads_ > 1) || int8;
    store_->use_kernel(layer, convert, keep_plain);
  }
  reordered_.emplace_back(layer, wanted, target);
  bool known = false;
  for (const auto& [index, desc] : user_layouts_) known = known || index == layer;
  if (!known) user_layouts_.emplace_back(layer, user);
  return target;
}

std::vector<float> FastWeights::Impl::weight_scales(int layer, const Desc& user) {
  const std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [index, scales] : weight_scales_) {
    if (index == layer) return scales;
  }
  const auto& dims = user.data.dims;
  const std::size_t channels = static_cast<std::size_t>(user.data.ndims == 5 ? dims[0] * dims[1] : dims[0]);
  const std::size_t per_channel = user.get_size() / sizeof(float) / channels;
  std::vector<float> scales(channels, 1.0f);
  store_->use_kernel(
      layer,
      [&](const float* kernel) {
        for (std::size_t c = 0; c < channels; ++c) {
          float largest = 0;
          for (std::size_t i = 0; i < per_channel; ++i) largest = std::max(largest, std::fabs(kernel[c * per_channel + i]));
          if (largest > 0) scales[c] = largest / 127.0f;
        }
      },
      true);
  weight_scales_.emplace_back(layer, scales);
  return scales;
}

bool FastWeights::Impl::write_plain(int layer, float* out) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::optional<Desc> user;
  for (const auto& [index, desc] : user_layouts_) {
    if (index == layer) user = desc;
  }
  const std::optional<dnnl::memory> stored = exact_source(layer, dnnl::memory::data_type::f32);
  if (stored && user) {
    dnnl::memory from = *stored;
    dnnl::memory target(*user, engine, out);  // a reorder both ways is exact
    dnnl::stream stream(engine);
    dnnl::reorder(from, target).execute(stream, from, target);
    stream.wait();
    return true;
  }
  return false;
}

}  // namespace dusk
