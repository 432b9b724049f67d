#pragma once
// The fast path: the graph compiled once into oneDNN primitives (convolutions
// with bias, activation and shortcut additions fused, in the blocked memory
// format oneDNN prefers, kept from layer to layer), with the reference
// kernels standing in for anything oneDNN does not do the Darknet way.
#include <functional>
#include <memory>
#include <vector>

#include "dusk/network.hpp"
#include "engine/fold.hpp"

namespace dusk {

// Weights already reordered into oneDNN layouts, shared by the plans of one
// network so that each layout of each layer is made and stored once.
class FastWeights {
 public:
  FastWeights();
  ~FastWeights();
  // The network's thread budget and Winograd memory share
  // (NetworkOptions). Above one thread, calls made at the same time get plans
  // for fewer threads, whose Winograd kernels may want another transformed
  // layout; oneDNN cannot convert between those, so the plain kernel of a
  // Winograd layer is then kept (and counted against the share).
  void configure(int network_threads, double winograd_memory_share);

  // While a network loads: where plans get the folded kernels that are not
  // in `folded` yet (deferred in the weights file), written whole to
  // `folded_kernel`. Read one at a time into a buffer that is reused, so they
  // are never all in memory in plain form.
  using KernelSource = std::function<void(int layer, float* folded_kernel)>;
  void set_kernel_source(KernelSource source, std::size_t largest_kernel_floats);
  // Whether a plan has stored the layer's kernel (a Winograd layer of a
  // network on more than one thread also keeps its plain kernel in `folded`).
  bool holds_kernel(int layer) const;
  struct Impl;
  std::unique_ptr<Impl> impl;
};

class FastPlan {
 public:
  // Compiles the graph to produce the outputs of `keep` on `threads` threads
  // (oneDNN fixes a primitive's thread count when it is created). A
  // convolution's folded weights are released once oneDNN holds them in its
  // own layout (`weights` then serves every later plan), so the network is in
  // memory once.
  static std::unique_ptr<FastPlan> build(const Graph& graph, std::vector<FoldedLayer>& folded,
                                         const std::vector<int>& keep, int threads, FastWeights& weights);
  ~FastPlan();

  // Runs on a CHW input of the graph's input shape; thread-safe (each call
  // borrows its own buffers from a pool).
  std::vector<Tensor> run(const Tensor& input) const;

  struct Impl;  // defined where the plan is built

 private:
  explicit FastPlan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when dusk was built with oneDNN.
bool fast_backend_compiled();

}  // namespace dusk
