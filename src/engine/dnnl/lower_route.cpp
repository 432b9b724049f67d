// [route]: concatenation of whole tensors, and the channel slice of
// groups/group_id, kept in the producers' layout.
#include "engine/dnnl/plan_builder.hpp"

namespace dusk::fast {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

bool Builder::build_route(const Layer& layer) {
  const RouteSpec& s = layer.as<RouteSpec>();
  if (s.layers.size() == 1 && s.groups == 1) {  // a plain reference to another layer
    layer_value_[static_cast<std::size_t>(layer.index)] = value_of(s.layers.front());
    return true;
  }
  if (s.layers.size() == 1) return build_channel_slice(layer);
  if (s.groups != 1) return false;
  // Read only by int8 convolutions: s8 at the route's scale, each input
  // quantized to it (a convolution writing at that scale needs nothing).
  // Otherwise all in the first input's data type: a bf16 network may route
  // an fp32 head input next to bf16 values.
  const bool s8 = s8_scale_[static_cast<std::size_t>(layer.index)] > 0;
  const float scale = s8 ? s8_scale_[static_cast<std::size_t>(layer.index)] : 1.0f;
  std::vector<int> sources;
  std::vector<Desc> descs;
  memory::data_type type = s8 ? memory::data_type::s8 : kF32;
  for (const int producer : s.layers) {
    const int value = value_of(producer);
    const Desc desc = plan_.values[static_cast<std::size_t>(value)].desc;  // a copy: add_value may reallocate
    if (sources.empty() && !s8) type = desc.data_type();
    sources.push_back(s8 ? as_quantized(value, with_type(desc, type), scale) : as_desc(value, with_type(desc, type)));
    descs.push_back(plan_.values[static_cast<std::size_t>(sources.back())].desc);
  }
  const Desc dst_desc(dims_of(layer.out), type, tag_of(descs.front()));
  const auto mark = [&] {
    if (s8) s8_scales_.emplace_back(layer_value_[static_cast<std::size_t>(layer.index)], scale);
    return true;
  };
  if (build_concat_by_copies(layer, sources, dst_desc)) return mark();
  dnnl::concat::primitive_desc pd;
  try {
    pd = dnnl::concat::primitive_desc(dst_desc, 1, descs, plan_.engine, attributes());
  } catch (const dnnl::error&) {
    return false;
  }
  const int dst = add_value(pd.dst_desc(), layer.out);
  ValueArgs args = {{DNNL_ARG_DST, dst}};
  for (std::size_t i = 0; i < sources.size(); ++i) args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), sources[i]);
  add_primitive(dnnl::concat(pd), pd, args, {}, sources, {dst});
  layer_value_[static_cast<std::size_t>(layer.index)] = dst;
  return mark();
}

bool Builder::build_concat_by_copies(const Layer& layer, const std::vector<int>& sources, const Desc& dst_desc) {
  // Each part's channel range of the destination, as a view; a part that
  // does not start on a channel block of a blocked layout has none.
  std::vector<Desc> parts;
  memory::dim channels = 0;
  for (const int source : sources) {
    const Shape shape = plan_.values[static_cast<std::size_t>(source)].shape;
    try {
      parts.push_back(dst_desc.submemory_desc(dims_of(shape), {0, channels, 0, 0}));
    } catch (const dnnl::error&) {
      return false;
    }
    channels += shape.c;
  }
  std::vector<dnnl::reorder::primitive_desc> copies;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const Desc from = plan_.values[static_cast<std::size_t>(sources[i])].desc;
    try {
      copies.emplace_back(plan_.engine, from, plan_.engine, parts[i], attributes());
    } catch (const dnnl::error&) {
      return false;
    }
    if (is_reference_impl(copies.back())) return false;
  }
  const int dst = add_value(dst_desc, layer.out);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const int view = add_value(parts[i], plan_.values[static_cast<std::size_t>(sources[i])].shape, dst);
    add_primitive(dnnl::reorder(copies[i]), copies[i], {{DNNL_ARG_FROM, sources[i]}, {DNNL_ARG_TO, view}}, {},
                  {sources[i]}, {view, dst});
  }
  layer_value_[static_cast<std::size_t>(layer.index)] = dst;
  return true;
}

bool Builder::build_channel_slice(const Layer& layer) {
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
  const Desc dst_desc(dims_of(layer.out), whole.data_type(), tag_of(whole));
  dnnl::reorder::primitive_desc pd;
  try {
    pd = dnnl::reorder::primitive_desc(plan_.engine, slice, plan_.engine, dst_desc, attributes());
  } catch (const dnnl::error&) {
    return false;
  }
  const int dst = add_value(dst_desc, layer.out);
  if (whole.data_type() == memory::data_type::s8) s8_scales_.emplace_back(dst, scale_of(source));  // a copy of s8
  add_primitive(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, view}, {DNNL_ARG_TO, dst}}, {}, {view}, {dst});
  layer_value_[static_cast<std::size_t>(layer.index)] = dst;
  return true;
}

}  // namespace dusk::fast
