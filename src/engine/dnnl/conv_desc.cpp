#include "engine/dnnl/conv_desc.hpp"

namespace dusk::fast {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

ConvDesc::ConvDesc(const Layer& layer, memory::data_type type) {
  const ConvSpec& s = layer.as<ConvSpec>();
  const Shape in = layer.in;
  const Shape out = layer.out;
  const memory::dim pad = memory::dim{s.pad} * s.dilation;
  const memory::dim span = memory::dim{s.dilation} * (s.size - 1) + 1;
  const memory::dims kernel = s.groups == 1 ? memory::dims{s.filters, in.c, s.size, s.size}
                                            : memory::dims{s.groups, s.filters / s.groups, in.c / s.groups, s.size, s.size};
  src_any = memory::desc({1, in.c, in.h, in.w}, type, Tag::any);
  dst_any = memory::desc({1, out.c, out.h, out.w}, type == memory::data_type::s8 ? kF32 : type, Tag::any);
  weights_any = memory::desc(kernel, type, Tag::any);
  user_weights = memory::desc(kernel, kF32, s.groups == 1 ? Tag::oihw : Tag::goihw);
  bias = memory::desc({s.filters}, kF32, Tag::x);
  strides = {s.stride_y, s.stride_x};
  dilates = {s.dilation - 1, s.dilation - 1};
  pad_l = {pad, pad};
  // Darknet's output size decides the right/bottom padding.
  pad_r = {(out.h - 1) * memory::dim{s.stride_y} + span - in.h - pad,
           (out.w - 1) * memory::dim{s.stride_x} + span - in.w - pad};
}

dnnl::convolution_forward::primitive_desc ConvDesc::make(dnnl::algorithm algorithm, const memory::desc& src,
                                                         const memory::desc& weights, const memory::desc& dst,
                                                         const dnnl::primitive_attr& attr,
                                                         const dnnl::engine& engine) const {
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, src, weights, bias, dst,
                                             strides, dilates, pad_l, pad_r);
  return dnnl::convolution_forward::primitive_desc(desc, attr, engine);
}

}  // namespace dusk::fast
