// Convolutions as oneDNN primitives: direct (bias, activation and a
// following shortcut fused) or Winograd, kernels from the kernel cache.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/dnnl/plan_builder.hpp"

namespace dusk::fast {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

std::vector<memory::data_type> Builder::convolution_types(const Graph& graph, Precision precision,
                                                          const Calibration* calibration) {
  const memory::data_type low = precision == Precision::Bf16   ? memory::data_type::bf16
                                : precision == Precision::Int8 ? memory::data_type::s8
                                                               : kF32;
  std::vector<memory::data_type> types(graph.layers.size(), low);
  if (low == memory::data_type::s8) {
    // Which convolutions run int8 is calibration.hpp's rule, shared with the int8 ONNX export.
    const std::vector<bool> int8 = calibration ? int8_convolutions(graph, *calibration)
                                               : std::vector<bool>(graph.layers.size(), false);
    for (const Layer& layer : graph.layers) {
      if (!int8[static_cast<std::size_t>(layer.index)]) types[static_cast<std::size_t>(layer.index)] = kF32;
    }
    return types;
  }
  for (const int head : graph.head_layers()) {
    for (const int producer : graph.layers[static_cast<std::size_t>(head)].inputs) {
      if (producer >= 0) types[static_cast<std::size_t>(producer)] = kF32;
    }
  }
  return types;
}

float Builder::input_scale(const Layer& layer) const {
  return calibration_->ranges.at(layer.inputs.front()) / 127.0f;
}

const Layer* Builder::fusable_shortcut(const Layer& layer) const {
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

bool Builder::build_convolution(const Layer& layer, const Layer* shortcut) {
  const memory::data_type type = conv_type_[static_cast<std::size_t>(layer.index)];
  const bool convertible = kernels_.can_make_layout(layer.index, type);
  if (!convertible && !kernels_.winograd_layout(layer.index)) return false;
  const ConvDesc conv(layer, type);
  const bool winograd = winograd_[static_cast<std::size_t>(layer.index)] && type == kF32;  // oneDNN's is f32 only
  if (winograd && build_winograd(layer, conv, shortcut)) return true;
  return convertible && build_direct(layer, conv, shortcut);
}

bool Builder::build_direct(const Layer& layer, const ConvDesc& conv, const Layer* shortcut) {
  const ConvSpec& s = layer.as<ConvSpec>();
  const bool int8 = conv.src_any.data_type() == memory::data_type::s8;
  // int8: dst = activation(scale[oc] * (sum of s8 products + bias / scale[oc])),
  // scale[oc] = input scale x the kernel's scale for that output channel.
  std::vector<float> output_scales;
  if (int8) {
    output_scales = kernels_.weight_scales(layer.index, conv.user_weights);
    for (float& scale : output_scales) scale *= input_scale(layer);
  }
  const auto attributes_with = [&](const dnnl::post_ops& post_ops) {
    dnnl::primitive_attr attr = attributes(post_ops);
    if (int8) attr.set_output_scales(1 << 1, output_scales);
    return attr;
  };
  dnnl::post_ops ops;
  const bool activation_fused = append_activation(ops, s.activation);
  // Read only by int8 convolutions: write s8 at their input scale, the
  // activation applied first (a post-op after it divides by the scale).
  const bool s8_out = int8 && shortcut == nullptr && activation_fused && s8_scale_[static_cast<std::size_t>(layer.index)] > 0;
  const float out_scale = s8_out ? s8_scale_[static_cast<std::size_t>(layer.index)] : 1.0f;
  if (s8_out) ops.append_eltwise(1.0f, algorithm::eltwise_linear, 1.0f / out_scale, 0.0f);
  const Desc dst_any = s8_out ? Desc(conv.dst_any.dims(), memory::data_type::s8, Tag::any) : conv.dst_any;
  dnnl::convolution_forward::primitive_desc pd;
  try {
    pd = conv.make(algorithm::convolution_direct, conv.src_any, conv.weights_any, dst_any, attributes_with(ops),
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
      pd = conv.make(algorithm::convolution_direct, conv.src_any, conv.weights_any, dst, attributes_with(fused),
                     plan_.engine);
    } catch (const dnnl::error&) {
      return false;
    }
    if (is_reference_impl(pd)) return false;  // fusing would cost more than it saves
    from = as_desc(value_of(spec.from.front()), dst);
  }

  const int input = value_of(layer.inputs.front());
  const int src = int8 ? as_quantized(input, pd.src_desc(), input_scale(layer)) : as_desc(input, pd.src_desc());
  const int dst = add_value(pd.dst_desc(), layer.out);
  if (s8_out) s8_scales_.emplace_back(dst, out_scale);
  std::vector<int> reads = {src};
  ValueArgs args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  if (from >= 0) {
    args.emplace_back(DNNL_ARG_ATTR_MULTIPLE_POST_OP(shortcut_post_op) | DNNL_ARG_SRC_1, from);
    reads.push_back(from);
  }
  add_convolution(layer, conv, pd, std::move(args), std::move(reads), dst, output_scales);
  const int result = activation_fused ? dst : apply_activation_step(dst, s.activation);
  layer_value_[static_cast<std::size_t>(layer.index)] = result;
  if (shortcut != nullptr) {
    layer_value_[static_cast<std::size_t>(layer.index)] = -1;  // never materialised
    layer_value_[static_cast<std::size_t>(shortcut->index)] = result;
  }
  return true;
}

bool Builder::build_winograd(const Layer& layer, const ConvDesc& conv, const Layer* shortcut) {
  const ConvSpec& s = layer.as<ConvSpec>();
  const std::optional<Desc> stored = kernels_.winograd_layout(layer.index);
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

void Builder::add_convolution(const Layer& layer, const ConvDesc& conv, const dnnl::convolution_forward::primitive_desc& pd,
                              ValueArgs args, std::vector<int> reads, int dst, const std::vector<float>& output_scales) {
  memory weights = kernels_.in_layout(layer.index, graph_.describe(layer.index), conv.user_weights, pd.weights_desc());
  const std::vector<float>& bias_values = store_.biases(layer.index);
  memory biases(conv.bias, plan_.engine);
  float* bias = static_cast<float*>(biases.get_data_handle());
  for (std::size_t i = 0; i < bias_values.size(); ++i) {
    bias[i] = output_scales.empty() ? bias_values[i] : bias_values[i] / output_scales[i];  // added before the scale
  }
  plan_.convolution_impls.emplace_back(pd.impl_info_str());
  add_primitive(dnnl::convolution_forward(pd), pd, std::move(args),
                {{DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, biases}}, std::move(reads), {dst});
}

}  // namespace dusk::fast
