#include "engine/dnnl/fast_steps.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "engine/activations.hpp"
#include "engine/run_layer.hpp"

namespace dusk::fast {

Desc plain_desc(const Shape& shape) {
  return Desc({1, shape.c, shape.h, shape.w}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nchw);
}


bool is_reference_impl(const dnnl::primitive_desc_base& pd) {
  return std::string_view(pd.impl_info_str()).substr(0, 3) == "ref";
}

Frame::Frame(const dnnl::engine& engine, const std::vector<Value>& values, const std::vector<Scratchpad>& scratchpads,
             std::size_t arena_bytes)
    : arena_(arena_bytes), stream_(engine) {
  char* base = static_cast<char*>(arena_.data());
  for (const Scratchpad& scratchpad : scratchpads) scratchpads_.emplace_back(scratchpad.desc, engine, base + scratchpad.offset);
  memories_.reserve(values.size());
  for (const Value& value : values) {
    const Value& owner = value.alias_of >= 0 ? values[static_cast<std::size_t>(value.alias_of)] : value;
    void* handle = owner.offset >= 0 ? base + owner.offset : DNNL_MEMORY_NONE;
    memories_.emplace_back(value.desc, engine, handle);
  }
}

PrimitiveStep::PrimitiveStep(dnnl::primitive primitive, std::vector<std::pair<int, int>> value_args,
                             std::vector<std::pair<int, dnnl::memory>> constant_args, int scratchpad)
    : primitive_(std::move(primitive)),
      value_args_(std::move(value_args)),
      constant_args_(std::move(constant_args)),
      scratchpad_(scratchpad) {}

void PrimitiveStep::run(Frame& frame) const {
  std::unordered_map<int, dnnl::memory> args;
  for (const auto& [arg, value] : value_args_) args.emplace(arg, frame.memory(value));
  for (const auto& [arg, memory] : constant_args_) args.emplace(arg, memory);
  if (scratchpad_ >= 0) args.emplace(DNNL_ARG_SCRATCHPAD, frame.scratchpad(scratchpad_));
  primitive_.execute(frame.stream(), args);
}

ReferenceStep::ReferenceStep(const Layer& layer, const FoldedLayer& params, std::vector<Shape> input_shapes)
    : layer_(layer), params_(params), input_shapes_(std::move(input_shapes)) {}

void ReferenceStep::run(Frame& frame) const {
  frame.stream().wait();  // earlier primitives must have finished writing
  LayerInputs inputs;
  for (std::size_t i = 0; i < reads.size(); ++i) {
    inputs.data.push_back(frame.data(reads[i]));
    inputs.shapes.push_back(input_shapes_[i]);
  }
  run_layer_reference(layer_, params_, inputs, frame.data(writes.front()), frame.threads);
}

ActivationStep::ActivationStep(Activation activation, Shape shape) : activation_(activation), shape_(shape) {}

void ActivationStep::run(Frame& frame) const {
  frame.stream().wait();
  apply_activation(activation_, frame.data(writes.front()), shape_, frame.threads);
}

}  // namespace dusk::fast
