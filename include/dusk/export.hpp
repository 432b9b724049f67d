#pragma once
// Darknet models to ONNX: the typed graph and its BatchNorm-folded
// parameters written as an ONNX model (protobuf, checked with ONNX's own
// checker) that computes what dusk computes, so it runs in ONNX Runtime,
// OpenCV, TensorRT or OpenVINO. Link dusk::dusk_export.
#include <memory>
#include <string>
#include <vector>

#include "dusk/graph.hpp"
#include "dusk/weights.hpp"

namespace dusk {

struct Calibration;  // calibration.hpp

struct OnnxExportOptions {
  int opset = 13;              // 13 to 17
  bool dynamic_batch = false;  // input and outputs with a symbolic batch dimension
  std::vector<std::string> labels;  // class names, stored in the metadata
  std::string dusk_version;    // stored in the metadata as producer_version
  // Weights and the network's computation in float16; the input, the head
  // outputs and the decode tail stay float32 (casts at both ends).
  bool fp16 = false;
  // int8 as a QDQ model: each convolution dusk runs in int8 (int8_convolutions)
  // reads its input through QuantizeLinear/DequantizeLinear at the calibrated
  // scale (uint8, zero point 128: the grid of dusk's symmetric int8), with
  // int8 kernels per output channel (largest |w| / 127, as dusk's) and int32
  // biases; its result is quantized before the activation over the calibrated
  // interval (uint8, asymmetric), which ONNX Runtime needs to run QLinearConv,
  // and outputs that dusk keeps in int8 are quantized again after it. Needs a
  // version 2 calibration made with these weights; not with fp16.
  std::shared_ptr<const Calibration> int8;
  // A tail after the heads: `boxes` [N,K,4] (x1,y1,x2,y2 in pixels of the
  // network input, candidates in Darknet's order: heads, cells row by row,
  // anchors), `class_scores` [N,K,classes] (objectness x class probability,
  // Darknet's per-class probabilities before any threshold), `scores` [N,K]
  // and `class_ids` [N,K] (int64) for the best class.
  bool decode = false;
  // With decode: ONNX NonMaxSuppression per class, output `selected` [M,3]
  // (batch, class, box index); boxes need a probability above
  // score_threshold, and lose to a stronger one overlapping by more than nms_iou.
  bool nms = false;
  float nms_iou = 0.45f;
  float score_threshold = 0.25f;
};

// The model for `graph` with `weights` (which must fit it). Outputs are the
// detection heads, named yolo_<N> / region_<N> after their Darknet layer
// index, with Darknet's head activations applied: the tensors `dusk forward`
// prints; then the decode tail's outputs when asked for. Throws dusk::Error naming the first layer that ONNX cannot
// express (kind and index), or a weights file that does not fit.
std::string export_onnx(const Graph& graph, const Weights& weights, const OnnxExportOptions& options = {});

}  // namespace dusk
