#pragma once
// The optional tail of an exported model that turns head outputs into boxes
// and scores (and, if asked, runs ONNX's NonMaxSuppression).
#include <string>
#include <vector>

#include "dusk/export.hpp"
#include "export/onnx_builder.hpp"

namespace dusk::onnx_export {

// One graph output the tail adds: its name, element type and dimensions
// (-1 where the size is only known at run time).
struct TailOutput {
  std::string name;
  int elem_type = onnx::TensorProto::FLOAT;
  std::vector<std::int64_t> dims;
};

// Appends the decoding of `head_tensors` (the activated outputs of
// graph.head_layers(), in that order) and returns the outputs it made,
// boxes first. Throws dusk::Error when the heads disagree on their class count.
std::vector<TailOutput> add_decode_tail(GraphBuilder& b, const Graph& graph, const std::vector<std::string>& head_tensors,
                                        const OnnxExportOptions& options);

}  // namespace dusk::onnx_export
