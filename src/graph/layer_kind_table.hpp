#pragma once
// One row per LayerKind: its cfg name, what its parameters in a .weights
// file are, Darknet's count of its work and whether it is a detection head.
// A new kind is one row here (a static_assert fails until it exists) plus
// its shape rule and kernels, which the switches without `default:` ask for.
#include <string_view>

#include "dusk/graph.hpp"

namespace dusk {

// What a layer's blocks in a .weights file are (param_layout gives their sizes).
enum class ParamForm {
  None,             // nothing in the file
  ConvKernel,       // biases, [BatchNorm], kernel
  ConnectedMatrix,  // biases, matrix, [BatchNorm]
  Batchnorm,        // biases, scales, mean, variance
  ShortcutWeights,  // a weight per source (and channel), when weights_type asks for them
};

struct LayerKindRow {
  LayerKind kind;
  std::string_view name;  // the canonical cfg section name
  ParamForm params;
  double (*bflops)(const Layer& layer);  // Darknet's BFLOPs; null: Darknet counts none
  bool detection_head;
};

const LayerKindRow& layer_kind_row(LayerKind kind);

}  // namespace dusk
