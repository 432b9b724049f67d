// Pooling (Darknet's padding split) and nearest upsampling.
#include "engine/dnnl/plan_builder.hpp"

namespace dusk::fast {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

bool Builder::build_pool(const Layer& layer) {
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
  const Desc src_desc = plan_.values[static_cast<std::size_t>(src)].desc;
  dnnl::pooling_forward::primitive_desc pd;
  try {
    const dnnl::pooling_forward::desc desc(prop_kind::forward_inference, kind, src_desc,
                                           Desc(dims_of(out), src_desc.data_type(), Tag::any), strides, kernel,
                                           pad_l, pad_r);
    pd = dnnl::pooling_forward::primitive_desc(desc, attributes(), plan_.engine);
  } catch (const dnnl::error&) {
    return false;
  }
  const int dst = add_value(pd.dst_desc(), out);
  if (src_desc.data_type() == memory::data_type::s8) s8_scales_.emplace_back(dst, scale_of(src));  // max of s8
  add_primitive(dnnl::pooling_forward(pd), pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, {}, {src}, {dst});
  layer_value_[static_cast<std::size_t>(layer.index)] = dst;
  return true;
}

bool Builder::build_upsample(const Layer& layer) {
  const UpsampleSpec& s = layer.as<UpsampleSpec>();
  if (s.downsample || s.scale != 1.0f) return false;
  const int src = value_of(layer.inputs.front());
  const Desc src_desc = plan_.values[static_cast<std::size_t>(src)].desc;
  dnnl::resampling_forward::primitive_desc pd;
  try {
    const dnnl::resampling_forward::desc desc(prop_kind::forward_inference, algorithm::resampling_nearest, src_desc,
                                              Desc(dims_of(layer.out), src_desc.data_type(), Tag::any));
    pd = dnnl::resampling_forward::primitive_desc(desc, attributes(), plan_.engine);
  } catch (const dnnl::error&) {
    return false;
  }
  const int dst = add_value(pd.dst_desc(), layer.out);
  if (src_desc.data_type() == memory::data_type::s8) s8_scales_.emplace_back(dst, scale_of(src));  // copies of s8
  add_primitive(dnnl::resampling_forward(pd), pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}, {}, {src}, {dst});
  layer_value_[static_cast<std::size_t>(layer.index)] = dst;
  return true;
}

}  // namespace dusk::fast
