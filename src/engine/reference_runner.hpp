#pragma once
// The reference interpreter: a whole forward pass, layer by layer, on the
// plain reference kernels (run_layer.hpp), each output freed after its last reader.
#include <vector>

#include "dusk/network.hpp"
#include "engine/fold.hpp"

namespace dusk {

// The outputs of the layers in `keep`, in that order. `reference_params`
// holds each layer's folded parameters; `last_reader` is Graph::last_readers().
std::vector<Tensor> run_reference(const Graph& graph, const std::vector<const FoldedLayer*>& reference_params,
                                  const std::vector<int>& last_reader, const Tensor& input, const std::vector<int>& keep,
                                  int call_threads);

}  // namespace dusk
