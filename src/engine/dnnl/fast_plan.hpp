#pragma once
// The fast path: the graph compiled once into oneDNN primitives (convolutions
// with bias, activation and shortcut additions fused, in the blocked memory
// format oneDNN prefers, kept from layer to layer), with the reference
// kernels standing in for anything oneDNN does not do the Darknet way.
#include <memory>
#include <vector>

#include "dusk/network.hpp"
#include "engine/kernel_store.hpp"

namespace dusk {

// Weights already reordered into oneDNN layouts, shared by the plans of one
// network so that each layout of each layer is made and stored once.
class FastWeights {
 public:
  FastWeights();
  ~FastWeights();
  // The network's thread budget and Winograd memory share
  // (NetworkOptions), and the store the plain kernels come from (this cache
  // becomes its restorer). Above one thread, calls made at the same time get
  // plans for fewer threads, whose Winograd kernels may want another
  // transformed layout; oneDNN cannot convert between those, so the plain
  // kernel of a Winograd layer is then kept (and counted against the share).
  void configure(int network_threads, double winograd_memory_share, KernelStore& store);

  // Whether a plan has stored the layer's kernel (a Winograd layer of a
  // network on more than one thread also keeps its plain kernel in the store).
  bool holds_kernel(int layer) const;
  struct Impl;
  std::unique_ptr<Impl> impl;
};

class FastPlan {
 public:
  // Compiles the graph to produce the outputs of `keep` on `threads` threads
  // (oneDNN fixes a primitive's thread count when it is created). Kernels
  // come from `weights`, configured with the network's store: a convolution's
  // plain kernel is released once oneDNN holds it in its own layout, so the
  // network is in memory once.
  // `precision` (never Auto) is the convolutions' arithmetic, except for
  // those that feed a detection head, which stay fp32; Int8 takes its
  // activation ranges from `calibration`.
  static std::unique_ptr<FastPlan> build(const Graph& graph, KernelStore& store, const std::vector<int>& keep,
                                         int threads, Precision precision, const Calibration* calibration,
                                         FastWeights& weights);
  ~FastPlan();

  // Runs on a CHW input of the graph's input shape; thread-safe (each call
  // borrows its own buffers from a pool).
  std::vector<Tensor> run(const Tensor& input) const;
  // The convolutions' implementations (oneDNN's names) and how many use each.
  std::vector<std::pair<std::string, int>> kernel_summary() const;

  struct Impl;  // defined where the plan is built

 private:
  explicit FastPlan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when dusk was built with oneDNN.
bool fast_backend_compiled();

}  // namespace dusk
