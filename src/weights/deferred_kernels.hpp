#pragma once
// Loading a network without holding its convolution kernels twice: their
// blocks stay in the file, checked but unread, until the engine reads them
// one at a time into a buffer it reuses and puts them into its own layout.
// On a VM, where each freshly touched page is expensive, that halves the
// memory a large network's load touches.
#include <memory>
#include <string>
#include <vector>

#include "dusk/graph.hpp"
#include "dusk/weights.hpp"

namespace dusk {

class DeferredKernels {
 public:
  DeferredKernels();
  ~DeferredKernels();
  DeferredKernels(DeferredKernels&&) noexcept;
  DeferredKernels& operator=(DeferredKernels&&) noexcept;

  // Whether the layer's kernel was left in the file.
  bool holds(int layer) const;
  // Floats in the layer's kernel.
  std::size_t floats(int layer) const;
  // The layer's kernel as stored (not folded) into kernel[0, floats(layer));
  // throws dusk::Error when the file has changed underneath and ends early.
  void read(int layer, float* kernel) const;

  struct Impl;
  std::unique_ptr<Impl> impl;
};

// read_weights, except that each [convolutional] kernel block stays in the
// file for `deferred` to read later. The file is checked against the graph
// exactly as read_weights does.
Weights read_weights_deferring_kernels(const std::string& path, const Graph& graph, DeferredKernels& deferred);

}  // namespace dusk
