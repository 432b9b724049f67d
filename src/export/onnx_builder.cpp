#include "export/onnx_builder.hpp"

#include <algorithm>
#include <cstring>

namespace dusk::onnx_export {

Attribute attr(const std::string& name, std::int64_t value) {
  Attribute a{name, {}};
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::INT);
  a.proto.set_i(value);
  return a;
}

Attribute attr(const std::string& name, float value) {
  Attribute a{name, {}};
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::FLOAT);
  a.proto.set_f(value);
  return a;
}

Attribute attr(const std::string& name, const std::vector<std::int64_t>& values) {
  Attribute a{name, {}};
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::INTS);
  for (const std::int64_t v : values) a.proto.add_ints(v);
  return a;
}

Attribute attr(const std::string& name, const std::string& value) {
  Attribute a{name, {}};
  a.proto.set_name(name);
  a.proto.set_type(onnx::AttributeProto::STRING);
  a.proto.set_s(value);
  return a;
}

std::string GraphBuilder::fresh(const std::string& hint) {
  std::string name = hint;
  for (int n = 1; std::find(used_.begin(), used_.end(), name) != used_.end(); ++n) name = hint + "_" + std::to_string(n);
  used_.push_back(name);
  return name;
}

std::uint16_t to_half(float value) {
  std::uint32_t f = 0;
  std::memcpy(&f, &value, sizeof f);
  const std::uint16_t sign = static_cast<std::uint16_t>((f >> 16) & 0x8000u);
  const std::uint32_t magnitude = f & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) return sign | (magnitude > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN, infinity
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // rounds beyond 65504: infinity
  if (magnitude < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    if (magnitude < 0x33000000u) return sign;  // below half the smallest subnormal
    const std::uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(magnitude >> 23);  // 14 + (113 - exponent)
    const std::uint32_t half = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1);
    const std::uint32_t halfway = 1u << (shift - 1);
    return sign | static_cast<std::uint16_t>(half + ((rest > halfway || (rest == halfway && (half & 1u))) ? 1 : 0));
  }
  const std::uint32_t rebased = magnitude - 0x38000000u;  // exponent bias 127 -> 15
  const std::uint32_t half = rebased >> 13;
  const std::uint32_t rest = rebased & 0x1fffu;
  return sign | static_cast<std::uint16_t>(half + ((rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ? 1 : 0));
}

std::string GraphBuilder::floats(const std::string& hint, const std::vector<float>& values,
                                 const std::vector<std::int64_t>& dims) {
  if (!half_) return floats32(hint, values, dims);
  onnx::TensorProto* tensor = graph_->add_initializer();
  tensor->set_name(fresh(hint));
  tensor->set_data_type(onnx::TensorProto::FLOAT16);
  for (const std::int64_t d : dims) tensor->add_dims(d);
  std::vector<std::uint16_t> bits(values.size());
  std::transform(values.begin(), values.end(), bits.begin(), to_half);
  tensor->set_raw_data(bits.data(), bits.size() * sizeof(std::uint16_t));
  return tensor->name();
}

std::string GraphBuilder::floats32(const std::string& hint, const std::vector<float>& values,
                                   const std::vector<std::int64_t>& dims) {
  onnx::TensorProto* tensor = graph_->add_initializer();
  tensor->set_name(fresh(hint));
  tensor->set_data_type(onnx::TensorProto::FLOAT);
  for (const std::int64_t d : dims) tensor->add_dims(d);
  tensor->set_raw_data(values.data(), values.size() * sizeof(float));  // little endian, as ONNX stores raw data
  return tensor->name();
}

std::string GraphBuilder::ints(const std::string& hint, const std::vector<std::int64_t>& values,
                               const std::vector<std::int64_t>& dims) {
  onnx::TensorProto* tensor = graph_->add_initializer();
  tensor->set_name(fresh(hint));
  tensor->set_data_type(onnx::TensorProto::INT64);
  for (const std::int64_t d : dims) tensor->add_dims(d);
  tensor->set_raw_data(values.data(), values.size() * sizeof(std::int64_t));
  return tensor->name();
}

std::string GraphBuilder::raw(const std::string& hint, int data_type, const void* bytes, std::size_t size,
                              const std::vector<std::int64_t>& dims) {
  onnx::TensorProto* tensor = graph_->add_initializer();
  tensor->set_name(fresh(hint));
  tensor->set_data_type(data_type);
  for (const std::int64_t d : dims) tensor->add_dims(d);
  tensor->set_raw_data(bytes, size);  // little endian, as ONNX stores raw data
  return tensor->name();
}

void GraphBuilder::node_to(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
                           const std::vector<Attribute>& attributes) {
  onnx::NodeProto* node = graph_->add_node();
  node->set_op_type(op);
  node->set_name(output);
  for (const std::string& input : inputs) node->add_input(input);
  node->add_output(output);
  for (const Attribute& a : attributes) *node->add_attribute() = a.proto;
}

std::string GraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                               const std::vector<Attribute>& attributes) {
  const std::string output = fresh(hint);
  node_to(op, inputs, output, attributes);
  return output;
}

}  // namespace dusk::onnx_export
