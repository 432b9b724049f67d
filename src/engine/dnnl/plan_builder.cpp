// The Builder's core: values and their layouts, the walk over the layers
// (build_layer is the registry of op families), reference fallbacks.
#include "engine/dnnl/plan_builder.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk::fast {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

Tag tag_of(const Desc& desc) {
  const memory::dims dims = desc.dims();
  for (const Tag tag : {Tag::nhwc, Tag::nChw16c, Tag::nChw8c, Tag::nchw}) {
    if (Desc(dims, desc.data_type(), tag) == desc) return tag;
  }
  return Tag::nchw;
}

Desc with_type(const Desc& desc, memory::data_type type) {
  return desc.data_type() == type ? desc : Desc(desc.dims(), type, tag_of(desc));
}

dnnl::primitive_attr attributes(const dnnl::post_ops& ops) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_post_ops(ops);
  return attr;
}

void Builder::build(const std::vector<int>& keep) {
  for (const int index : keep) kept_[static_cast<std::size_t>(index)] = true;
  // DUSK_INT8_CHAIN=0 writes fp32 between all layers, as before the chain
  // existed: what tests and benchmarks compare against.
  const char* chain = std::getenv("DUSK_INT8_CHAIN");
  const bool int8 = std::find(conv_type_.begin(), conv_type_.end(), memory::data_type::s8) != conv_type_.end();
  s8_scale_ = int8 && !(chain != nullptr && std::string(chain) == "0")
                  ? int8_output_scales(graph_, *calibration_, kept_)
                  : std::vector<float>(graph_.layers.size(), 0.0f);
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
  place_in_arena(plan_);
}

int Builder::add_value(const Desc& desc, const Shape& shape, int alias_of) {
  plan_.values.push_back(Value{desc, shape, -1, alias_of});
  return static_cast<int>(plan_.values.size()) - 1;
}

void Builder::add_step(std::unique_ptr<fast::Step> step, std::vector<int> reads, std::vector<int> writes) {
  step->reads = std::move(reads);
  step->writes = std::move(writes);
  plan_.steps.push_back(std::move(step));
}

void Builder::add_primitive(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd, ValueArgs args,
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

int Builder::value_of(int producer) const {
  return producer < 0 ? 0 : layer_value_[static_cast<std::size_t>(producer)];
}

float Builder::scale_of(int value) const {
  for (const auto& [s8, scale] : s8_scales_) {
    if (s8 == value) return scale;
  }
  return 1.0f;
}

int Builder::as_desc(int value, const Desc& desc) {
  const Value& v = plan_.values[static_cast<std::size_t>(value)];
  if (v.desc == desc) return value;
  for (const auto& [source, converted] : conversions_) {
    if (source == value && plan_.values[static_cast<std::size_t>(converted)].desc == desc) return converted;
  }
  const Shape shape = v.shape;
  dnnl::primitive_attr attr = attributes();
  const float scale = scale_of(value);
  if (scale != 1.0f && desc.data_type() != memory::data_type::s8) attr.set_output_scales(0, {scale});
  const dnnl::reorder::primitive_desc pd(plan_.engine, v.desc, plan_.engine, desc, attr);
  const int out = add_value(desc, shape);
  if (scale != 1.0f && desc.data_type() == memory::data_type::s8) s8_scales_.emplace_back(out, scale);  // same scale
  add_primitive(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, value}, {DNNL_ARG_TO, out}}, {}, {value}, {out});
  conversions_.emplace_back(value, out);
  return out;
}

int Builder::as_quantized(int value, const Desc& desc, float scale) {
  for (const auto& [source, used_scale, converted] : quantized_) {
    if (source == value && used_scale == scale && plan_.values[static_cast<std::size_t>(converted)].desc == desc) {
      return converted;
    }
  }
  const Value v = plan_.values[static_cast<std::size_t>(value)];  // a copy: add_value may reallocate
  const float held = scale_of(value);
  if (held == scale && v.desc == desc) return value;
  dnnl::primitive_attr attr = attributes();
  attr.set_output_scales(0, {held / scale});
  const dnnl::reorder::primitive_desc pd(plan_.engine, v.desc, plan_.engine, desc, attr);
  const int out = add_value(desc, v.shape);
  add_primitive(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, value}, {DNNL_ARG_TO, out}}, {}, {value}, {out});
  quantized_.emplace_back(value, scale, out);
  return out;
}

int Builder::as_plain(int value) {
  return as_desc(value, fast::plain_desc(plan_.values[static_cast<std::size_t>(value)].shape));
}

void Builder::build_layer(const Layer& layer) {
  bool fast = false;
  switch (layer.kind) {
    case LayerKind::Convolutional: fast = build_convolution(layer, nullptr); break;
    case LayerKind::Maxpool:
    case LayerKind::LocalAvgpool:
    case LayerKind::Avgpool: fast = build_pool(layer); break;
    case LayerKind::Upsample: fast = build_upsample(layer); break;
    case LayerKind::Route: fast = build_route(layer); break;
    case LayerKind::Shortcut: fast = build_shortcut(layer); break;
    case LayerKind::Activation: fast = build_activation(layer); break;
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
    case LayerKind::Crop:
    case LayerKind::Count:
      break;  // the reference kernels
  }
  if (!fast) build_reference(layer);
}

void Builder::build_reference(const Layer& layer) {
  // The reference kernel reads the plain folded kernel for as long as the
  // network lives: the store restores it if an earlier plan released it and
  // keeps later plans from releasing it.
  const FoldedLayer& params = store_.plain(layer.index, graph_.describe(layer.index));
  std::vector<int> reads;
  std::vector<Shape> shapes;
  for (const int producer : layer.inputs) {
    reads.push_back(as_plain(value_of(producer)));
    shapes.push_back(producer < 0 ? graph_.input : graph_.layers[static_cast<std::size_t>(producer)].out);
  }
  const int out = add_value(fast::plain_desc(layer.out), layer.out);
  add_step(std::make_unique<fast::ReferenceStep>(layer, params, shapes),
           reads, {out});
  layer_value_[static_cast<std::size_t>(layer.index)] = out;
}

int Builder::apply_activation_step(int value, Activation activation) {
  const int plain = as_plain(value);
  const Shape shape = plan_.values[static_cast<std::size_t>(plain)].shape;
  add_step(std::make_unique<fast::ActivationStep>(activation, shape), {plain}, {plain});
  return plain;
}

}  // namespace dusk::fast
