#pragma once
// The backend a Network runs on: an object chosen once at load
// (choose_backend), owning whatever it compiled or pinned for its passes.
// Network keeps what every backend shares: the graph, the folded parameters
// (KernelStore), the thread budget and how concurrent calls split it.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dusk/network.hpp"
#include "engine/kernel_store.hpp"

namespace dusk {

class BackendRunner {
 public:
  virtual ~BackendRunner() = default;
  virtual Backend kind() const = 0;

  // Once, at the end of the load, with kernels possibly still in the weights
  // file (KernelStore::set_kernel_source): the reference backend pins every
  // layer's parameters, the fast one compiles the plan for the heads.
  virtual void prepare() = 0;
  // Whether prepare() reads kernels through the store's reusable buffer (so
  // the load offers one as large as the largest kernel).
  virtual bool streams_kernels() const = 0;
  // Whether the backend keeps the layer's kernel in its own layout, so the
  // store need not read a plain copy from the file.
  virtual bool took_kernel(int layer) const = 0;

  // The outputs of `wanted` (checked, non-empty) for one input on `threads` threads.
  virtual std::vector<Tensor> run(const Tensor& input, const std::vector<int>& wanted, int threads) const = 0;
  // The convolutions' implementations for a plan computing `outputs` (Network::kernel_summary).
  virtual std::vector<std::pair<std::string, int>> kernel_summary(const std::vector<int>& outputs,
                                                                  int threads) const = 0;
};

// What the fast backend needs beyond the graph and the store.
struct FastSettings {
  int network_threads = 1;
  double winograd_memory_share = 0;
  Precision precision = Precision::Fp32;
  std::shared_ptr<const Calibration> calibration;
};

// `graph` and `store` must outlive the runner (Network's Impl owns all three).
std::unique_ptr<BackendRunner> make_reference_runner(const Graph& graph, KernelStore& store);
std::unique_ptr<BackendRunner> make_fast_runner(const Graph& graph, KernelStore& store, const FastSettings& settings);

}  // namespace dusk
