// Element-wise work: Darknet's activations as oneDNN eltwise post-ops or
// primitives, and shortcut additions that were not fused into a convolution.
#include "engine/dnnl/plan_builder.hpp"
#include "graph/activation_table.hpp"

namespace dusk::fast {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

std::optional<Eltwise> eltwise_for(Activation activation) {
  switch (activation) {
    case Activation::Leaky:
    case Activation::Revleaky: return Eltwise{algorithm::eltwise_relu, kLeakySlope};
    case Activation::Relu: return Eltwise{algorithm::eltwise_relu, 0.f};
    case Activation::Relu6: return Eltwise{algorithm::eltwise_clip, 0.f, 6.f};
    case Activation::Hardtan: return Eltwise{algorithm::eltwise_clip, -1.f, 1.f};
    case Activation::Logistic: return Eltwise{algorithm::eltwise_logistic};
    case Activation::Tanh: return Eltwise{algorithm::eltwise_tanh};
    case Activation::Elu: return Eltwise{algorithm::eltwise_elu, 1.f};
    case Activation::Gelu: return Eltwise{algorithm::eltwise_gelu_tanh};
    case Activation::Swish: return Eltwise{algorithm::eltwise_swish, 1.f};
    case Activation::Mish: return Eltwise{algorithm::eltwise_mish};
    case Activation::Linear:  // no step at all
    case Activation::Selu:    // the rest: oneDNN has none with Darknet's arithmetic (selu's and
    case Activation::HardMish:  // elu's constants, stair's parity, the channel families)
    case Activation::Relie:
    case Activation::Ramp:
    case Activation::Plse:
    case Activation::Stair:
    case Activation::Lhtan:
    case Activation::Loggy:
    case Activation::NormalizeChannels:
    case Activation::NormalizeChannelsSoftmax:
    case Activation::NormalizeChannelsSoftmaxMaxval:
    case Activation::Count:
      return std::nullopt;
  }
  return std::nullopt;
}

bool append_activation(dnnl::post_ops& ops, Activation activation) {
  if (activation == Activation::Linear) return true;
  const std::optional<Eltwise> eltwise = eltwise_for(activation);
  if (!eltwise) return false;
  ops.append_eltwise(1.f, eltwise->kind, eltwise->alpha, eltwise->beta);
  return true;
}

namespace {

// oneDNN's eltwise primitive for `activation` on `desc`, if it has a
// non-reference one with Darknet's arithmetic.
std::optional<dnnl::eltwise_forward::primitive_desc> eltwise_primitive(Activation activation, const Desc& desc,
                                                                      const dnnl::engine& engine) {
  const std::optional<Eltwise> eltwise = eltwise_for(activation);
  if (!eltwise) return std::nullopt;
  try {
    const dnnl::eltwise_forward::desc op(prop_kind::forward_inference, eltwise->kind, desc, eltwise->alpha,
                                         eltwise->beta);
    dnnl::eltwise_forward::primitive_desc pd(op, attributes(), engine);
    if (is_reference_impl(pd)) return std::nullopt;
    return pd;
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
}

}  // namespace

int Builder::activate_in_place(int value, Activation activation) {
  if (activation == Activation::Linear) return value;
  const std::optional<dnnl::eltwise_forward::primitive_desc> pd =
      eltwise_primitive(activation, plan_.values[static_cast<std::size_t>(value)].desc, plan_.engine);
  if (!pd) return apply_activation_step(value, activation);
  add_primitive(dnnl::eltwise_forward(*pd), *pd, {{DNNL_ARG_SRC, value}, {DNNL_ARG_DST, value}}, {}, {value}, {value});
  return value;
}

// An [activation] layer: a new value, its input left as it was (a plan may
// keep both, as calibration keeps a convolution's output before its activation).
bool Builder::build_activation(const Layer& layer) {
  const int input = value_of(layer.inputs.front());
  const Desc desc = with_type(plan_.values[static_cast<std::size_t>(input)].desc, kF32);
  const std::optional<dnnl::eltwise_forward::primitive_desc> found =
      eltwise_primitive(layer.as<ActivationSpec>().activation, desc, plan_.engine);
  if (!found) return false;
  const dnnl::eltwise_forward::primitive_desc& pd = *found;
  const int src = as_desc(input, desc);
  const int dst = add_value(desc, layer.out);
  add_primitive(dnnl::eltwise_forward(pd), pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, {}, {src}, {dst});
  layer_value_[static_cast<std::size_t>(layer.index)] = dst;
  return true;
}

bool Builder::build_shortcut(const Layer& layer) {
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

}  // namespace dusk::fast
