#pragma once
// Darknet models to ONNX: the typed graph and its BatchNorm-folded
// parameters written as an ONNX model (protobuf, checked with ONNX's own
// checker) that computes what dusk computes, so it runs in ONNX Runtime,
// OpenCV, TensorRT or OpenVINO. Link dusk::dusk_export.
#include <string>
#include <vector>

#include "dusk/graph.hpp"
#include "dusk/weights.hpp"

namespace dusk {

struct OnnxExportOptions {
  int opset = 13;              // 13 to 17
  bool dynamic_batch = false;  // input and outputs with a symbolic batch dimension
  std::vector<std::string> labels;  // class names, stored in the metadata
  std::string dusk_version;    // stored in the metadata as producer_version
};

// The model for `graph` with `weights` (which must fit it). Outputs are the
// detection heads, named yolo_<N> / region_<N> after their Darknet layer
// index, with Darknet's head activations applied: the tensors `dusk forward`
// prints. Throws dusk::Error naming the first layer that ONNX cannot
// express (kind and index), or a weights file that does not fit.
std::string export_onnx(const Graph& graph, const Weights& weights, const OnnxExportOptions& options = {});

}  // namespace dusk
