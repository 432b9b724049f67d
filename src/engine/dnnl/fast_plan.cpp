// Compiling a graph into oneDNN steps, placing their buffers by lifetime,
// and running the result.
#include "engine/dnnl/fast_plan.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <tuple>

#include "dusk/error.hpp"
#include "engine/buffer_plan.hpp"
#include "engine/dnnl/conv_desc.hpp"
#include "engine/dnnl/fast_steps.hpp"
#include "engine/dnnl/winograd.hpp"
#include "engine/dnnl/winograd_kernel.hpp"
#include "util/text.hpp"
#include "util/memory.hpp"

namespace dusk {

using fast::ConvDesc;
using fast::Desc;
using fast::is_reference_impl;
using fast::Value;
using Tag = dnnl::memory::format_tag;
using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

constexpr auto kF32 = memory::data_type::f32;

struct FastWeights::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mutex;
  std::vector<std::tuple<int, Desc, memory>> reordered;  // layer, layout, data
  Arena storage;                                         // what those memories point into
  int network_threads = 1;
  double winograd_memory_share = kDefaultWinogradMemoryShare;
  std::optional<std::vector<bool>> winograd;  // per layer, chosen with the first plan
  KernelSource kernel_source;                 // while loading: deferred kernels
  AlignedBuffer kernel_buffer;                // where they are read into, one at a time
};

FastWeights::FastWeights() : impl(std::make_unique<Impl>()) {}
FastWeights::~FastWeights() = default;
void FastWeights::set_kernel_source(KernelSource source, std::size_t largest_kernel_floats) {
  const std::lock_guard<std::mutex> lock(impl->mutex);
  impl->kernel_source = std::move(source);
  impl->kernel_buffer = AlignedBuffer(impl->kernel_source ? largest_kernel_floats * sizeof(float) : 0);
}

bool FastWeights::holds_kernel(int layer) const {
  const std::lock_guard<std::mutex> lock(impl->mutex);
  for (const auto& [index, desc, stored] : impl->reordered) {
    if (index == layer) return true;
  }
  return false;
}

void FastWeights::configure(int network_threads, double winograd_memory_share) {
  impl->network_threads = network_threads;
  impl->winograd_memory_share = winograd_memory_share;
}

struct FastPlan::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  int threads = 1;
  std::vector<Value> values;
  std::vector<std::unique_ptr<fast::Step>> steps;
  std::vector<fast::Scratchpad> scratchpads;
  std::vector<int> scratchpad_steps;  // the step each scratchpad serves
  std::size_t arena_bytes = 0;        // values and scratchpads of one call
  std::vector<int> outputs;  // plain values returned, in the order asked
  std::vector<Shape> output_shapes;

  mutable std::mutex pool_mutex;
  mutable std::vector<std::unique_ptr<fast::Frame>> idle_frames;
};

namespace {

struct Eltwise {
  algorithm kind;
  float alpha = 0;
  float beta = 0;
};

// oneDNN post-ops that compute Darknet's activations.
std::optional<Eltwise> eltwise_for(Activation activation) {
  switch (activation) {
    case Activation::Leaky:
    case Activation::Revleaky: return Eltwise{algorithm::eltwise_relu, 0.1f};
    case Activation::Relu: return Eltwise{algorithm::eltwise_relu, 0.f};
    case Activation::Relu6: return Eltwise{algorithm::eltwise_clip, 0.f, 6.f};
    case Activation::Hardtan: return Eltwise{algorithm::eltwise_clip, -1.f, 1.f};
    case Activation::Logistic: return Eltwise{algorithm::eltwise_logistic};
    case Activation::Tanh: return Eltwise{algorithm::eltwise_tanh};
    case Activation::Elu: return Eltwise{algorithm::eltwise_elu, 1.f};
    case Activation::Gelu: return Eltwise{algorithm::eltwise_gelu_tanh};
    case Activation::Swish: return Eltwise{algorithm::eltwise_swish, 1.f};
    case Activation::Mish: return Eltwise{algorithm::eltwise_mish};
    default: return std::nullopt;
  }
}

// Adds the activation as a post-op when oneDNN has it; false otherwise.
bool append_activation(dnnl::post_ops& ops, Activation activation) {
  if (activation == Activation::Linear) return true;
  const std::optional<Eltwise> eltwise = eltwise_for(activation);
  if (!eltwise) return false;
  ops.append_eltwise(1.f, eltwise->kind, eltwise->alpha, eltwise->beta);
  return true;
}

memory::dims dims_of(const Shape& s) { return {1, s.c, s.h, s.w}; }

// The layout tag a value's descriptor has among those convolutions produce
// (NHWC, channel-blocked, plain), so that a concatenation or a slice can keep it.
Tag tag_of(const Desc& desc) {
  const memory::dims dims = desc.dims();
  for (const Tag tag : {Tag::nhwc, Tag::nChw16c, Tag::nChw8c, Tag::nchw}) {
    if (Desc(dims, kF32, tag) == desc) return tag;
  }
  return Tag::nchw;
}

// Winograd-transformed kernels: oneDNN reorders into them, never out of them.
bool is_winograd_layout(const Desc& desc) { return desc.data.format_kind == dnnl_format_kind_wino; }

// Every primitive takes its scratchpad from the call's frame.
dnnl::primitive_attr attributes(const dnnl::post_ops& ops = dnnl::post_ops()) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_post_ops(ops);
  return attr;
}

using ValueArgs = std::vector<std::pair<int, int>>;
using ConstantArgs = std::vector<std::pair<int, memory>>;

class Builder {
 public:
  Builder(const Graph& graph, std::vector<FoldedLayer>& folded, FastPlan::Impl& plan, FastWeights& weights)
      : graph_(graph), folded_(folded), plan_(plan), weights_(*weights.impl), layer_value_(graph.layers.size(), -1),
        readers_(graph.reader_counts()), kept_(graph.layers.size(), false) {}

  void build(const std::vector<int>& keep) {
    for (const int index : keep) kept_[static_cast<std::size_t>(index)] = true;
    add_value(fast::plain_desc(graph_.input), graph_.input);  // value 0: the network input
    const int last = keep.empty() ? -1 : *std::max_element(keep.begin(), keep.end());
    std::vector<int> plain_output(graph_.layers.size(), -1);
    for (int index = 0; index <= last; ++index) {
      const Layer& layer = graph_.layers[static_cast<std::size_t>(index)];
      const Layer* shortcut = fusable_shortcut(layer);
      if (shortcut != nullptr && build_convolution(layer, shortcut)) {
        ++index;  // the shortcut ran inside the convolution
      } else {
        build_layer(layer);
      }
      for (int done = layer.index; done <= index; ++done) {
        if (kept_[static_cast<std::size_t>(done)]) {
          plain_output[static_cast<std::size_t>(done)] = as_plain(layer_value_[static_cast<std::size_t>(done)]);
        }
      }
    }
    for (const int index : keep) {
      plan_.outputs.push_back(plain_output[static_cast<std::size_t>(index)]);
      plan_.output_shapes.push_back(graph_.layers[static_cast<std::size_t>(index)].out);
    }
    place_in_arena();
  }

 private:
  int add_value(const Desc& desc, const Shape& shape, int alias_of = -1) {
    plan_.values.push_back(Value{desc, shape, -1, alias_of});
    return static_cast<int>(plan_.values.size()) - 1;
  }

  void add_step(std::unique_ptr<fast::Step> step, std::vector<int> reads, std::vector<int> writes) {
    step->reads = std::move(reads);
    step->writes = std::move(writes);
    plan_.steps.push_back(std::move(step));
  }

  void add_primitive(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd, ValueArgs args,
                     ConstantArgs constants, std::vector<int> reads, std::vector<int> writes) {
    int scratchpad = -1;
    if (pd.scratchpad_desc().get_size() > 0) {
      plan_.scratchpads.push_back({pd.scratchpad_desc()});
      plan_.scratchpad_steps.push_back(static_cast<int>(plan_.steps.size()));
      scratchpad = static_cast<int>(plan_.scratchpads.size()) - 1;
    }
    add_step(std::make_unique<fast::PrimitiveStep>(primitive, std::move(args), std::move(constants), scratchpad),
             std::move(reads), std::move(writes));
  }

  int value_of(int producer) const {
    return producer < 0 ? 0 : layer_value_[static_cast<std::size_t>(producer)];
  }

  // The value in `desc`'s layout, reordering (once) when it is in another.
  int as_desc(int value, const Desc& desc) {
    const Value& v = plan_.values[static_cast<std::size_t>(value)];
    if (v.desc == desc) return value;
    for (const auto& [source, converted] : conversions_) {
      if (source == value && plan_.values[static_cast<std::size_t>(converted)].desc == desc) return converted;
    }
    const Shape shape = v.shape;
    const dnnl::reorder::primitive_desc pd(plan_.engine, v.desc, plan_.engine, desc, attributes());
    const int out = add_value(desc, shape);
    add_primitive(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, value}, {DNNL_ARG_TO, out}}, {}, {value}, {out});
    conversions_.emplace_back(value, out);
    return out;
  }

  int as_plain(int value) {
    return as_desc(value, fast::plain_desc(plan_.values[static_cast<std::size_t>(value)].shape));
  }

  // A [shortcut] right after this convolution that can be fused into it as a
  // binary post-op: it adds one same-shaped tensor, without weights, and is
  // the only reader of the convolution's output.
  const Layer* fusable_shortcut(const Layer& layer) const {
    if (layer.kind != LayerKind::Convolutional) return nullptr;
    const std::size_t next = static_cast<std::size_t>(layer.index) + 1;
    if (next >= graph_.layers.size() || kept_[static_cast<std::size_t>(layer.index)]) return nullptr;
    const Layer& shortcut = graph_.layers[next];
    if (shortcut.kind != LayerKind::Shortcut || shortcut.inputs.front() != layer.index) return nullptr;
    const ShortcutSpec& spec = shortcut.as<ShortcutSpec>();
    if (spec.from.size() != 1 || spec.weights_type != ShortcutWeights::None) return nullptr;
    if (graph_.layers[static_cast<std::size_t>(spec.from.front())].out != layer.out) return nullptr;
    if (readers_[static_cast<std::size_t>(layer.index)] != 1) return nullptr;
    return &shortcut;
  }

  void build_layer(const Layer& layer) {
    bool fast = false;
    switch (layer.kind) {
      case LayerKind::Convolutional: fast = build_convolution(layer, nullptr); break;
      case LayerKind::Maxpool:
      case LayerKind::LocalAvgpool:
      case LayerKind::Avgpool: fast = build_pool(layer); break;
      case LayerKind::Upsample: fast = build_upsample(layer); break;
      case LayerKind::Route: fast = build_route(layer); break;
      case LayerKind::Shortcut: fast = build_shortcut(layer); break;
      case LayerKind::Dropout:
      case LayerKind::Cost:
      case LayerKind::Empty:  // identities share their input's value
        layer_value_[static_cast<std::size_t>(layer.index)] = value_of(layer.inputs.front());
        fast = true;
        break;
      case LayerKind::Connected:
      case LayerKind::Reorg:
      case LayerKind::Reorg3d:
      case LayerKind::Yolo:
      case LayerKind::GaussianYolo:
      case LayerKind::Region:
      case LayerKind::Sam:
      case LayerKind::ScaleChannels:
      case LayerKind::Softmax:
      case LayerKind::Batchnorm:
      case LayerKind::Activation:
      case LayerKind::Crop:
      case LayerKind::Count:
        break;  // the reference kernels
    }
    if (!fast) build_reference(layer);
  }

  void build_reference(const Layer& layer) {
    // A kernel handed to oneDNN by an earlier plan is gone from `folded_`;
    // oneDNN accepted it then and must again, so this is a bug, not an input.
    std::vector<float>& kernel = folded_[static_cast<std::size_t>(layer.index)].weights;
    if (layer.kind == LayerKind::Convolutional && kernel.empty()) {
      const std::lock_guard<std::mutex> lock(weights_.mutex);
      if (weights_.kernel_source) {
        kernel.resize(static_cast<std::size_t>(ConvDesc(layer).user_weights.get_size() / sizeof(float)));
        weights_.kernel_source(layer.index, kernel.data());
      }
    }
    if (layer.kind == LayerKind::Convolutional && kernel.empty()) {
      throw Error(cat(graph_.describe(layer.index), ": its kernel now lives only in oneDNN's layout, which this plan "
                      "could not use; use the reference backend (NetworkOptions::backend = Backend::Reference) and report this"));
    }
    std::vector<int> reads;
    std::vector<Shape> shapes;
    for (const int producer : layer.inputs) {
      reads.push_back(as_plain(value_of(producer)));
      shapes.push_back(producer < 0 ? graph_.input : graph_.layers[static_cast<std::size_t>(producer)].out);
    }
    const int out = add_value(fast::plain_desc(layer.out), layer.out);
    add_step(std::make_unique<fast::ReferenceStep>(layer, folded_[static_cast<std::size_t>(layer.index)], shapes),
             reads, {out});
    layer_value_[static_cast<std::size_t>(layer.index)] = out;
  }

  // An activation with no oneDNN post-op, applied in place on a plain copy.
  int apply_activation_step(int value, Activation activation) {
    const int plain = as_plain(value);
    const Shape shape = plan_.values[static_cast<std::size_t>(plain)].shape;
    add_step(std::make_unique<fast::ActivationStep>(activation, shape), {plain}, {plain});
    return plain;
  }

  // Whether a layer's kernel can still be put into a new layout: from the
  // folded weights, or from a layout oneDNN can reorder out of.
  bool kernel_available(int layer) {
    if (!folded_[static_cast<std::size_t>(layer)].weights.empty()) return true;
    const std::lock_guard<std::mutex> lock(weights_.mutex);
    if (weights_.kernel_source) return true;
    for (const auto& [index, desc, stored] : weights_.reordered) {
      if (index == layer && !is_winograd_layout(desc)) return true;
    }
    return false;
  }

  // The Winograd layout an earlier plan stored this layer's kernel in, if any.
  std::optional<Desc> stored_winograd_layout(int layer) {
    const std::lock_guard<std::mutex> lock(weights_.mutex);
    for (const auto& [index, desc, stored] : weights_.reordered) {
      if (index == layer && is_winograd_layout(desc)) return desc;
    }
    return std::nullopt;
  }

  // A layer's weights in the layout a primitive wants, reordered once per
  // network: from the folded weights the first time (which are then
  // released, unless only a Winograd layout would be left on a network that
  // may need another), from an earlier layout after that.
  memory constant(int layer, const Desc& user_desc, std::vector<float>& folded_weights, const Desc& wanted) {
    const std::lock_guard<std::mutex> lock(weights_.mutex);
    std::optional<memory> source;
    for (const auto& [index, desc, stored] : weights_.reordered) {
      if (index != layer) continue;
      if (desc == wanted) return stored;
      if (!is_winograd_layout(desc)) source = stored;
    }
    const bool deferred = !source && folded_weights.empty() && weights_.kernel_source;
    if (!source && folded_weights.empty() && !deferred) {
      throw Error(cat(graph_.describe(layer), ": its kernel now lives only in a Winograd layout oneDNN cannot convert; "
                      "use the reference backend (NetworkOptions::backend = Backend::Reference) and report this"));
    }
    const std::size_t floats = user_desc.get_size() / sizeof(float);
    float* plain = deferred ? static_cast<float*>(weights_.kernel_buffer.data()) : folded_weights.data();
    if (deferred) weights_.kernel_source(layer, plain);
    memory target(wanted, weights_.engine, weights_.storage.allocate(wanted.get_size()));
    const auto& dims = user_desc.data.dims;
    const bool transformed = !source && user_desc.data.ndims == 4 &&
                             fast::transform_winograd_kernel(plain, static_cast<int>(dims[0]),
                                                             static_cast<int>(dims[1]), wanted,
                                                             static_cast<float*>(target.get_data_handle()));
    if (!transformed) {
      if (!source) source = memory(user_desc, weights_.engine, plain);
      dnnl::stream stream(weights_.engine);
      dnnl::reorder(*source, target).execute(stream, *source, target);
      stream.wait();
    }
    weights_.reordered.emplace_back(layer, wanted, target);
    const bool keep_plain = is_winograd_layout(wanted) && weights_.network_threads > 1;
    if (keep_plain && deferred) {  // populated up front: one fault per huge page, not per 4 KiB
      resize_prefaulted(folded_weights, floats);
      std::memcpy(folded_weights.data(), plain, floats * sizeof(float));
    }
    if (!keep_plain) std::vector<float>().swap(folded_weights);
    return target;
  }

  bool build_convolution(const Layer& layer, const Layer* shortcut) {
    const bool convertible = kernel_available(layer.index);
    if (!convertible && !stored_winograd_layout(layer.index)) return false;
    const ConvDesc conv(layer);
    if ((*weights_.winograd)[static_cast<std::size_t>(layer.index)] && build_winograd(layer, conv, shortcut)) return true;
    return convertible && build_direct(layer, conv, shortcut);
  }

  // The convolution with bias, activation and a following shortcut fused.
  bool build_direct(const Layer& layer, const ConvDesc& conv, const Layer* shortcut) {
    const ConvSpec& s = layer.as<ConvSpec>();
    dnnl::post_ops ops;
    const bool activation_fused = append_activation(ops, s.activation);
    dnnl::convolution_forward::primitive_desc pd;
    try {
      pd = conv.make(algorithm::convolution_direct, conv.src_any, conv.weights_any, conv.dst_any, attributes(ops),
                     plan_.engine);
    } catch (const dnnl::error&) {
      return false;
    }
    if (is_reference_impl(pd)) return false;  // oneDNN's own plain loops are slower than ours

    int from = -1;
    int shortcut_post_op = -1;
    if (shortcut != nullptr) {
      if (!activation_fused) return false;  // the add must come after the activation
      const ShortcutSpec& spec = shortcut->as<ShortcutSpec>();
      const Desc dst = pd.dst_desc();
      dnnl::post_ops fused = ops;
      shortcut_post_op = fused.len();
      fused.append_binary(algorithm::binary_add, dst);
      if (!append_activation(fused, spec.activation)) return false;
      try {
        pd = conv.make(algorithm::convolution_direct, conv.src_any, conv.weights_any, dst, attributes(fused),
                       plan_.engine);
      } catch (const dnnl::error&) {
        return false;
      }
      if (is_reference_impl(pd)) return false;  // fusing would cost more than it saves
      from = as_desc(value_of(spec.from.front()), dst);
    }

    const int src = as_desc(value_of(layer.inputs.front()), pd.src_desc());
    const int dst = add_value(pd.dst_desc(), layer.out);
    std::vector<int> reads = {src};
    ValueArgs args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    if (from >= 0) {
      args.emplace_back(DNNL_ARG_ATTR_MULTIPLE_POST_OP(shortcut_post_op) | DNNL_ARG_SRC_1, from);
      reads.push_back(from);
    }
    add_convolution(layer, conv, pd, std::move(args), std::move(reads), dst);
    const int result = activation_fused ? dst : apply_activation_step(dst, s.activation);
    layer_value_[static_cast<std::size_t>(layer.index)] = result;
    if (shortcut != nullptr) {
      layer_value_[static_cast<std::size_t>(layer.index)] = -1;  // never materialised
      layer_value_[static_cast<std::size_t>(shortcut->index)] = result;
    }
    return true;
  }

  // The convolution as Winograd's, then its activation (unless relu) and a
  // following shortcut as steps of their own: oneDNN fuses nothing else into it.
  bool build_winograd(const Layer& layer, const ConvDesc& conv, const Layer* shortcut) {
    const ConvSpec& s = layer.as<ConvSpec>();
    const std::optional<Desc> stored = stored_winograd_layout(layer.index);
    dnnl::post_ops ops;
    const bool relu = s.activation == Activation::Relu || s.activation == Activation::Linear;
    if (relu) append_activation(ops, s.activation);
    dnnl::convolution_forward::primitive_desc pd;
    try {
      pd = conv.make(algorithm::convolution_winograd, conv.src_any, stored ? *stored : conv.weights_any, conv.dst_any,
                     attributes(ops), plan_.engine);
    } catch (const dnnl::error&) {
      return false;  // this plan's thread count may want another layout than the stored one
    }
    if (is_reference_impl(pd)) return false;
    const int src = as_desc(value_of(layer.inputs.front()), pd.src_desc());
    const int dst = add_value(pd.dst_desc(), layer.out);
    add_convolution(layer, conv, pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, {src}, dst);
    layer_value_[static_cast<std::size_t>(layer.index)] = relu ? dst : activate_in_place(dst, s.activation);
    if (shortcut != nullptr) build_layer(*shortcut);
    return true;
  }

  void add_convolution(const Layer& layer, const ConvDesc& conv, const dnnl::convolution_forward::primitive_desc& pd,
                       ValueArgs args, std::vector<int> reads, int dst) {
    FoldedLayer& params = folded_[static_cast<std::size_t>(layer.index)];
    memory weights = constant(layer.index, conv.user_weights, params.weights, pd.weights_desc());
    memory biases(conv.bias, plan_.engine);
    std::memcpy(biases.get_data_handle(), params.biases.data(), params.biases.size() * sizeof(float));
    add_primitive(dnnl::convolution_forward(pd), pd, std::move(args),
                  {{DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, biases}}, std::move(reads), {dst});
  }

  // The activation as a oneDNN eltwise primitive over the value in place, or
  // on the reference kernel when oneDNN has none.
  int activate_in_place(int value, Activation activation) {
    if (activation == Activation::Linear) return value;
    const std::optional<Eltwise> eltwise = eltwise_for(activation);
    if (!eltwise) return apply_activation_step(value, activation);
    const Desc desc = plan_.values[static_cast<std::size_t>(value)].desc;
    dnnl::eltwise_forward::primitive_desc pd;
    try {
      const dnnl::eltwise_forward::desc op(prop_kind::forward_inference, eltwise->kind, desc, eltwise->alpha,
                                           eltwise->beta);
      pd = dnnl::eltwise_forward::primitive_desc(op, attributes(), plan_.engine);
    } catch (const dnnl::error&) {
      return apply_activation_step(value, activation);
    }
    if (is_reference_impl(pd)) return apply_activation_step(value, activation);
    add_primitive(dnnl::eltwise_forward(pd), pd, {{DNNL_ARG_SRC, value}, {DNNL_ARG_DST, value}}, {}, {value}, {value});
    return value;
  }

  bool build_pool(const Layer& layer) {
    const Shape in = layer.in;
    const Shape out = layer.out;
    memory::dims kernel;
    memory::dims strides;
    memory::dims pad_l;
    memory::dims pad_r;
    algorithm kind = algorithm::pooling_avg_exclude_padding;
    if (layer.kind == LayerKind::Avgpool) {
      kernel = {in.h, in.w};
      strides = {1, 1};
      pad_l = pad_r = {0, 0};
    } else {
      const PoolSpec& s = layer.as<PoolSpec>();
      if (s.maxpool_depth) return false;
      if (layer.kind == LayerKind::Maxpool) kind = algorithm::pooling_max;
      const memory::dim before = s.padding / 2;  // Darknet's windows start at -padding/2
      kernel = {s.size, s.size};
      strides = {s.stride_y, s.stride_x};
      pad_l = {before, before};
      pad_r = {(out.h - 1) * memory::dim{s.stride_y} + s.size - in.h - before,
               (out.w - 1) * memory::dim{s.stride_x} + s.size - in.w - before};
      if (pad_r[0] < 0 || pad_r[1] < 0 || before >= s.size) return false;
    }
    const int src = value_of(layer.inputs.front());
    dnnl::pooling_forward::primitive_desc pd;
    try {
      const dnnl::pooling_forward::desc desc(prop_kind::forward_inference, kind,
                                             plan_.values[static_cast<std::size_t>(src)].desc,
                                             Desc(dims_of(out), kF32, Tag::any), strides, kernel, pad_l, pad_r);
      pd = dnnl::pooling_forward::primitive_desc(desc, attributes(), plan_.engine);
    } catch (const dnnl::error&) {
      return false;
    }
    const int dst = add_value(pd.dst_desc(), out);
    add_primitive(dnnl::pooling_forward(pd), pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, {}, {src}, {dst});
    layer_value_[static_cast<std::size_t>(layer.index)] = dst;
    return true;
  }

  bool build_upsample(const Layer& layer) {
    const UpsampleSpec& s = layer.as<UpsampleSpec>();
    if (s.downsample || s.scale != 1.0f) return false;
    const int src = value_of(layer.inputs.front());
    dnnl::resampling_forward::primitive_desc pd;
    try {
      const dnnl::resampling_forward::desc desc(prop_kind::forward_inference, algorithm::resampling_nearest,
                                                plan_.values[static_cast<std::size_t>(src)].desc,
                                                Desc(dims_of(layer.out), kF32, Tag::any));
      pd = dnnl::resampling_forward::primitive_desc(desc, attributes(), plan_.engine);
    } catch (const dnnl::error&) {
      return false;
    }
    const int dst = add_value(pd.dst_desc(), layer.out);
    add_primitive(dnnl::resampling_forward(pd), pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, {}, {src}, {dst});
    layer_value_[static_cast<std::size_t>(layer.index)] = dst;
    return true;
  }

  bool build_route(const Layer& layer) {
    const RouteSpec& s = layer.as<RouteSpec>();
    if (s.layers.size() == 1 && s.groups == 1) {  // a plain reference to another layer
      layer_value_[static_cast<std::size_t>(layer.index)] = value_of(s.layers.front());
      return true;
    }
    if (s.layers.size() == 1) return build_channel_slice(layer);
    if (s.groups != 1) return false;
    std::vector<int> sources;
    std::vector<Desc> descs;
    for (const int producer : s.layers) {
      sources.push_back(value_of(producer));
      descs.push_back(plan_.values[static_cast<std::size_t>(sources.back())].desc);
    }
    dnnl::concat::primitive_desc pd;
    try {
      pd = dnnl::concat::primitive_desc(Desc(dims_of(layer.out), kF32, tag_of(descs.front())), 1, descs,
                                        plan_.engine, attributes());
    } catch (const dnnl::error&) {
      return false;
    }
    const int dst = add_value(pd.dst_desc(), layer.out);
    ValueArgs args = {{DNNL_ARG_DST, dst}};
    for (std::size_t i = 0; i < sources.size(); ++i) args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), sources[i]);
    add_primitive(dnnl::concat(pd), pd, args, {}, sources, {dst});
    layer_value_[static_cast<std::size_t>(layer.index)] = dst;
    return true;
  }

  // route groups=G group_id=K of one input: a copy of its K-th channel slice.
  bool build_channel_slice(const Layer& layer) {
    const RouteSpec& s = layer.as<RouteSpec>();
    const int source = value_of(s.layers.front());
    if (source == 0) return false;  // views of the caller's input are not supported
    const Desc whole = plan_.values[static_cast<std::size_t>(source)].desc;  // a copy: add_value may reallocate
    Desc slice;
    try {
      slice = whole.submemory_desc(dims_of(layer.out), {0, memory::dim{layer.out.c} * s.group_id, 0, 0});
    } catch (const dnnl::error&) {
      return false;  // the slice does not start on a channel block
    }
    const int view = add_value(slice, layer.out, source);
    const Desc dst_desc(dims_of(layer.out), kF32, tag_of(whole));
    dnnl::reorder::primitive_desc pd;
    try {
      pd = dnnl::reorder::primitive_desc(plan_.engine, slice, plan_.engine, dst_desc, attributes());
    } catch (const dnnl::error&) {
      return false;
    }
    const int dst = add_value(dst_desc, layer.out);
    add_primitive(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, view}, {DNNL_ARG_TO, dst}}, {}, {view}, {dst});
    layer_value_[static_cast<std::size_t>(layer.index)] = dst;
    return true;
  }

  bool build_shortcut(const Layer& layer) {
    const ShortcutSpec& s = layer.as<ShortcutSpec>();
    if (s.from.size() != 1 || s.weights_type != ShortcutWeights::None ||
        graph_.layers[static_cast<std::size_t>(s.from.front())].out != layer.in) {
      return false;
    }
    // The add runs in the layout of the value added from (the trunk, kept
    // in the direct kernels' layout); a fresh input in another layout, as a
    // Winograd convolution's blocked output, is converted once. On yolov4
    // that halves the activation reorders (7 -> 4 ms a pass at one thread)
    // against converting the trunk into the blocked layout and back.
    const int from = value_of(s.from.front());
    const Desc desc = plan_.values[static_cast<std::size_t>(from)].desc;  // a copy: as_desc may reallocate
    dnnl::post_ops ops;
    const bool activation_fused = append_activation(ops, s.activation);
    dnnl::binary::primitive_desc pd;
    try {
      const dnnl::binary::desc add(algorithm::binary_add, desc, desc, desc);
      pd = dnnl::binary::primitive_desc(add, attributes(ops), plan_.engine);
    } catch (const dnnl::error&) {
      return false;
    }
    const int a = as_desc(value_of(layer.inputs.front()), desc);
    const int b = from;
    const int dst = add_value(desc, layer.out);
    add_primitive(dnnl::binary(pd), pd, {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}}, {}, {a, b},
                  {dst});
    layer_value_[static_cast<std::size_t>(layer.index)] = activation_fused ? dst : apply_activation_step(dst, s.activation);
    return true;
  }

  // Every value and scratchpad gets a place in the call's arena. A value
  // lives from the step that writes it to the last step that reads it (a
  // view keeps its owner alive; outputs live to the end), a scratchpad
  // during its own step; those never live together may share bytes.
  void place_in_arena() {
    std::vector<Value>& values = plan_.values;
    const int end = static_cast<int>(plan_.steps.size());
    std::vector<int> first_write(values.size(), -1);
    std::vector<int> last_use(values.size(), -1);
    for (int i = 0; i < end; ++i) {
      const fast::Step& step = *plan_.steps[static_cast<std::size_t>(i)];
      for (const int v : step.reads) last_use[static_cast<std::size_t>(v)] = i;
      for (const int v : step.writes) {
        if (first_write[static_cast<std::size_t>(v)] < 0) first_write[static_cast<std::size_t>(v)] = i;
      }
    }
    for (const int v : plan_.outputs) last_use[static_cast<std::size_t>(v)] = end;
    for (std::size_t v = values.size(); v-- > 0;) {  // a view keeps its owner alive
      const int owner = values[v].alias_of;
      if (owner >= 0) last_use[static_cast<std::size_t>(owner)] = std::max(last_use[static_cast<std::size_t>(owner)], last_use[v]);
    }

    std::vector<BufferLifetime> buffers;
    std::vector<int> buffer_value;  // -1: a scratchpad
    for (std::size_t v = 1; v < values.size(); ++v) {  // value 0, the input, is the caller's
      if (values[v].alias_of >= 0 || first_write[v] < 0) continue;
      buffers.push_back({values[v].desc.get_size(), first_write[v], std::max(first_write[v], last_use[v])});
      buffer_value.push_back(static_cast<int>(v));
    }
    for (std::size_t p = 0; p < plan_.scratchpads.size(); ++p) {
      const int step = plan_.scratchpad_steps[p];
      buffers.push_back({plan_.scratchpads[p].desc.get_size(), step, step});
      buffer_value.push_back(-1 - static_cast<int>(p));
    }
    constexpr std::size_t kAlignment = 64;  // a cache line: what oneDNN's kernels assume
    const BufferPlacement placement = place_buffers(buffers, kAlignment);
    for (std::size_t b = 0; b < buffers.size(); ++b) {
      const auto offset = static_cast<std::ptrdiff_t>(placement.offsets[b]);
      const int v = buffer_value[b];
      if (v >= 0) values[static_cast<std::size_t>(v)].offset = offset;
      else plan_.scratchpads[static_cast<std::size_t>(-1 - v)].offset = offset;
    }
    plan_.arena_bytes = placement.arena_bytes;
  }

  const Graph& graph_;
  std::vector<FoldedLayer>& folded_;
  FastPlan::Impl& plan_;
  FastWeights::Impl& weights_;
  std::vector<int> layer_value_;
  std::vector<int> readers_;
  std::vector<bool> kept_;
  std::vector<std::pair<int, int>> conversions_;
};

// Sets this thread's OpenMP team size for the scope, as oneDNN reads it
// when primitives are created.
class OmpThreads {
 public:
  explicit OmpThreads(int threads) : saved_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~OmpThreads() { omp_set_num_threads(saved_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
};

}  // namespace

FastPlan::FastPlan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FastPlan::~FastPlan() = default;

std::unique_ptr<FastPlan> FastPlan::build(const Graph& graph, std::vector<FoldedLayer>& folded,
                                          const std::vector<int>& keep, int threads, FastWeights& weights) {
  const OmpThreads scope(threads);
  auto impl = std::make_unique<Impl>();
  impl->engine = weights.impl->engine;
  impl->threads = threads;
  try {
    {
      const std::lock_guard<std::mutex> lock(weights.impl->mutex);
      if (!weights.impl->winograd) {
        weights.impl->winograd = fast::choose_winograd(graph, weights.impl->engine, weights.impl->winograd_memory_share,
                                                       weights.impl->network_threads > 1);
      }
    }
    Builder(graph, folded, *impl, weights).build(keep);
  } catch (const dnnl::error& error) {
    throw Error(cat(graph.source, ": oneDNN could not compile the network (", error.what(),
                    "); run it on the reference backend (NetworkOptions::backend = Backend::Reference)"));
  }
  return std::unique_ptr<FastPlan>(new FastPlan(std::move(impl)));
}

std::vector<Tensor> FastPlan::run(const Tensor& input) const {
  const OmpThreads scope(impl_->threads);
  std::unique_ptr<fast::Frame> frame;
  {
    const std::lock_guard<std::mutex> lock(impl_->pool_mutex);
    if (!impl_->idle_frames.empty()) {
      frame = std::move(impl_->idle_frames.back());
      impl_->idle_frames.pop_back();
    }
  }
  if (!frame) frame = std::make_unique<fast::Frame>(impl_->engine, impl_->values, impl_->scratchpads, impl_->arena_bytes);
  frame->threads = impl_->threads;
  frame->memory(0).set_data_handle(const_cast<float*>(input.data.data()));
  try {
    for (const auto& step : impl_->steps) step->run(*frame);
    frame->stream().wait();
  } catch (const dnnl::error& error) {
    throw Error(cat("oneDNN failed while running the network (", error.what(),
                    "); run it on the reference backend (NetworkOptions::backend = Backend::Reference)"));
  }

  std::vector<Tensor> outputs;
  for (std::size_t i = 0; i < impl_->outputs.size(); ++i) {
    Tensor tensor(impl_->output_shapes[i]);
    std::memcpy(tensor.data.data(), frame->data(impl_->outputs[i]), tensor.data.size() * sizeof(float));
    outputs.push_back(std::move(tensor));
  }
  const std::lock_guard<std::mutex> lock(impl_->pool_mutex);
  impl_->idle_frames.push_back(std::move(frame));
  return outputs;
}


bool fast_backend_compiled() { return true; }

}  // namespace dusk
