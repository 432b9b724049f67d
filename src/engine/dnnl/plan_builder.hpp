#pragma once
// Lowering a graph into a FastPlan. The Builder walks the layers once; per
// layer kind (build_layer, an exhaustive switch: the registry) it asks the
// family that lowers it for oneDNN steps, and falls back to the reference
// kernels for whatever oneDNN does not do the Darknet way:
//   plan_builder.cpp   values, layout conversions, the walk, reference steps
//   lower_conv.cpp     convolutions (direct and Winograd, fused shortcut)
//   lower_eltwise.cpp  activations and unfused shortcuts
//   lower_pool.cpp     pooling and resampling
//   lower_route.cpp    concatenation and channel slices
//   plan_arena.cpp     placing every value and scratchpad in the call's arena
// Plain kernels come from the network's KernelStore, oneDNN layouts of them
// from the kernel cache (kernel_cache.hpp).
#include <oneapi/dnnl/dnnl.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "dusk/calibration.hpp"
#include "engine/dnnl/conv_desc.hpp"
#include "engine/dnnl/fast_plan.hpp"
#include "engine/dnnl/fast_steps.hpp"
#include "engine/dnnl/kernel_cache.hpp"

namespace dusk {

struct FastPlan::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  int threads = 1;
  std::vector<fast::Value> values;
  std::vector<std::unique_ptr<fast::Step>> steps;
  std::vector<fast::Scratchpad> scratchpads;
  std::vector<int> scratchpad_steps;  // the step each scratchpad serves
  std::size_t arena_bytes = 0;        // values and scratchpads of one call
  std::vector<int> outputs;  // plain values returned, in the order asked
  std::vector<Shape> output_shapes;
  std::vector<std::string> convolution_impls;  // oneDNN's name for each convolution's implementation

  mutable std::mutex pool_mutex;
  mutable std::vector<std::unique_ptr<fast::Frame>> idle_frames;
};

namespace fast {

using Tag = dnnl::memory::format_tag;
inline constexpr auto kF32 = dnnl::memory::data_type::f32;

struct Eltwise {
  dnnl::algorithm kind;
  float alpha = 0;
  float beta = 0;
};
// oneDNN post-ops that compute Darknet's activations.
std::optional<Eltwise> eltwise_for(Activation activation);
// Adds the activation as a post-op when oneDNN has it; false otherwise.
bool append_activation(dnnl::post_ops& ops, Activation activation);

inline dnnl::memory::dims dims_of(const Shape& s) { return {1, s.c, s.h, s.w}; }
// The layout tag a value's descriptor has among those convolutions produce
// (NHWC, channel-blocked, plain), so that a concatenation or a slice can keep it.
Tag tag_of(const Desc& desc);
// `desc`'s dimensions and layout tag in another data type.
Desc with_type(const Desc& desc, dnnl::memory::data_type type);
// Every primitive takes its scratchpad from the call's frame.
dnnl::primitive_attr attributes(const dnnl::post_ops& ops = dnnl::post_ops());

// Every value and scratchpad gets a place in the call's arena. A value
// lives from the step that writes it to the last step that reads it (a
// view keeps its owner alive; outputs live to the end), a scratchpad
// during its own step; those never live together may share bytes.
void place_in_arena(FastPlan::Impl& plan);

using ValueArgs = std::vector<std::pair<int, int>>;
using ConstantArgs = std::vector<std::pair<int, dnnl::memory>>;

class Builder {
 public:
  Builder(const Graph& graph, KernelStore& store, FastPlan::Impl& plan, FastWeights& weights, Precision precision,
          const Calibration* calibration)
      : graph_(graph), store_(store), plan_(plan), kernels_(*weights.impl), winograd_(kernels_.winograd_choice(graph)),
        calibration_(calibration), conv_type_(convolution_types(graph, precision, calibration)),
        layer_value_(graph.layers.size(), -1),
        readers_(graph.reader_counts()), kept_(graph.layers.size(), false) {}

  void build(const std::vector<int>& keep);

 private:
  // plan_builder.cpp
  int add_value(const Desc& desc, const Shape& shape, int alias_of = -1);
  void add_step(std::unique_ptr<fast::Step> step, std::vector<int> reads, std::vector<int> writes);
  void add_primitive(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd, ValueArgs args,
                     ConstantArgs constants, std::vector<int> reads, std::vector<int> writes);
  int value_of(int producer) const;
  // The value in `desc`'s layout, reordering (once) when it is in another;
  // an s8 value a convolution wrote is dequantized when `desc` is fp32.
  int as_desc(int value, const Desc& desc);
  // The scale of an s8 value a convolution wrote; 1 for any other value.
  float scale_of(int value) const;
  int as_plain(int value);
  // The value quantized to `desc` (s8): each element divided by `scale`
  // (an s8 value already at that scale is used as it is).
  int as_quantized(int value, const Desc& desc, float scale);
  void build_layer(const Layer& layer);
  void build_reference(const Layer& layer);
  // An activation with no oneDNN post-op, applied in place on a plain copy.
  int apply_activation_step(int value, Activation activation);

  // lower_conv.cpp
  // Per layer: the data type a convolution computes in: `precision`'s,
  // except for those whose output a detection head reads (fp32). An int8
  // convolution (s8) reads its input quantized with the calibrated range and
  // writes fp32.
  static std::vector<dnnl::memory::data_type> convolution_types(const Graph& graph, Precision precision,
                                                                const Calibration* calibration);
  // The int8 scale of the tensor a convolution reads (range / 127).
  float input_scale(const Layer& layer) const;
  // A [shortcut] right after this convolution that can be fused into it as a
  // binary post-op: it adds one same-shaped tensor, without weights, and is
  // the only reader of the convolution's output.
  const Layer* fusable_shortcut(const Layer& layer) const;
  bool build_convolution(const Layer& layer, const Layer* shortcut);
  // The convolution with bias, activation and a following shortcut fused.
  bool build_direct(const Layer& layer, const ConvDesc& conv, const Layer* shortcut);
  // The convolution as Winograd's, then its activation (unless relu) and a
  // following shortcut as steps of their own: oneDNN fuses nothing else into it.
  bool build_winograd(const Layer& layer, const ConvDesc& conv, const Layer* shortcut);
  // `output_scales`: int8's per output channel (empty otherwise).
  void add_convolution(const Layer& layer, const ConvDesc& conv, const dnnl::convolution_forward::primitive_desc& pd,
                       ValueArgs args, std::vector<int> reads, int dst, const std::vector<float>& output_scales = {});

  // lower_eltwise.cpp
  // The activation as a oneDNN eltwise primitive over the value in place, or
  // on the reference kernel when oneDNN has none.
  int activate_in_place(int value, Activation activation);
  bool build_shortcut(const Layer& layer);
  bool build_activation(const Layer& layer);

  // lower_pool.cpp
  bool build_pool(const Layer& layer);
  bool build_upsample(const Layer& layer);

  // lower_route.cpp
  bool build_route(const Layer& layer);
  // The concatenation as one copy per input into its channel range of the
  // destination: oneDNN's concat of channel-blocked tensors ran at a fraction
  // of memory speed (1.2 ms for 2 MiB on yolov4-tiny). False when a range
  // does not start on a channel block, or no fast copy takes the layouts.
  bool build_concat_by_copies(const Layer& layer, const std::vector<int>& sources, const Desc& dst_desc);
  // route groups=G group_id=K of one input: a copy of its K-th channel slice.
  bool build_channel_slice(const Layer& layer);

  const Graph& graph_;
  KernelStore& store_;
  FastPlan::Impl& plan_;
  FastWeights::Impl& kernels_;
  std::vector<bool> winograd_;  // per layer, from the kernel cache
  const Calibration* calibration_;
  std::vector<dnnl::memory::data_type> conv_type_;
  std::vector<int> layer_value_;
  std::vector<int> readers_;
  std::vector<bool> kept_;
  // Per layer: the scale it writes s8 at, 0 for fp32 (int8_output_scales,
  // outputs kept as fp32), sparing the fp32 tensor and the quantizing
  // reorder. DUSK_INT8_CHAIN=0 turns this off.
  std::vector<float> s8_scale_;
  std::vector<std::pair<int, int>> conversions_;
  std::vector<std::tuple<int, float, int>> quantized_;  // value, scale, s8 value
  std::vector<std::pair<int, float>> s8_scales_;  // s8 values convolutions wrote, with their scale
};

}  // namespace fast
}  // namespace dusk
