#include "export/onnx_builder.hpp"

#include <algorithm>

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

std::string GraphBuilder::floats(const std::string& hint, const std::vector<float>& values,
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
