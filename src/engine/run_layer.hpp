#pragma once
// Runs one layer with the reference kernels.
#include <vector>

#include "dusk/graph.hpp"
#include "engine/fold.hpp"

namespace dusk {

struct LayerInputs {
  std::vector<const float*> data;  // in the order of Layer::inputs
  std::vector<Shape> shapes;
};

void run_layer_reference(const Layer& layer, const FoldedLayer& params, const LayerInputs& inputs, float* out,
                         int threads);

}  // namespace dusk
