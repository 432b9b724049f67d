#pragma once
// The same network with every convolution's activation moved into an
// [activation] layer of its own right after it, so that a forward pass can
// keep what a convolution computed before its activation (calibration
// measures those ranges for int8 ONNX export).
#include <vector>

#include "dusk/graph.hpp"
#include "dusk/weights.hpp"

namespace dusk {

struct SplitActivations {
  Graph graph;
  Weights weights;
  std::vector<int> output_of;      // per original layer: the layer of `graph` that holds its output
  std::vector<int> raw_output_of;  // per original layer: its convolution's output before activation (-1: no convolution)
};

SplitActivations split_activations(const Graph& graph, Weights weights);

}  // namespace dusk
