#pragma once
// A thin layer over onnx::GraphProto: unique tensor names, initializers and
// nodes with attributes, so the lowering reads like the model it writes.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dusk::onnx_export {

struct Attribute {
  std::string name;
  onnx::AttributeProto proto;
};
Attribute attr(const std::string& name, std::int64_t value);
Attribute attr(const std::string& name, float value);
Attribute attr(const std::string& name, const std::vector<std::int64_t>& values);
Attribute attr(const std::string& name, const std::string& value);

// IEEE half precision bits of `value`, rounded to nearest even.
std::uint16_t to_half(float value);

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}
  // A name not used before, from `hint`.
  std::string fresh(const std::string& hint);
  // Float constants, stored as float16 while half precision is on (weights
  // and constants of a --fp16 model's body).
  std::string floats(const std::string& hint, const std::vector<float>& values, const std::vector<std::int64_t>& dims);
  // Always float32: for inputs ONNX requires as float (Resize scales).
  std::string floats32(const std::string& hint, const std::vector<float>& values, const std::vector<std::int64_t>& dims);
  void set_half(bool half) { half_ = half; }
  std::string scalar(const std::string& hint, float value) { return floats(hint, {value}, {}); }
  std::string ints(const std::string& hint, const std::vector<std::int64_t>& values, const std::vector<std::int64_t>& dims);
  std::string ints(const std::string& hint, const std::vector<std::int64_t>& values) {
    return ints(hint, values, {static_cast<std::int64_t>(values.size())});
  }
  // Any other element type (onnx::TensorProto::INT8, UINT8, INT32, ...): `bytes` as stored.
  std::string raw(const std::string& hint, int data_type, const void* bytes, std::size_t size,
                  const std::vector<std::int64_t>& dims);
  // Adds a node and returns the name of its (single) output.
  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                   const std::vector<Attribute>& attributes = {});
  // The same with a chosen output name (graph outputs).
  void node_to(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
               const std::vector<Attribute>& attributes = {});

 private:
  onnx::GraphProto* graph_;
  std::vector<std::string> used_;
  bool half_ = false;
};

}  // namespace dusk::onnx_export
