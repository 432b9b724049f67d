// Built instead of the oneDNN fast path when oneDNN is not installed: the
// network then always runs on the reference kernels.
#include "dusk/error.hpp"
#include "engine/dnnl/fast_plan.hpp"

namespace dusk {

struct FastWeights::Impl {};
FastWeights::FastWeights() = default;
FastWeights::~FastWeights() = default;
void FastWeights::configure(int, double, KernelStore&) {}
bool FastWeights::holds_kernel(int) const { return false; }

struct FastPlan::Impl {};

FastPlan::FastPlan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FastPlan::~FastPlan() = default;

std::unique_ptr<FastPlan> FastPlan::build(const Graph&, KernelStore&, const std::vector<int>&, int, Precision, const Calibration*,
                                          FastWeights&) {
  throw Error("this dusk was built without oneDNN; install libdnnl-dev and rebuild for the fast path");
}

std::vector<Tensor> FastPlan::run(const Tensor&) const { return {}; }
std::vector<std::pair<std::string, int>> FastPlan::kernel_summary() const { return {}; }

bool fast_backend_compiled() { return false; }

double matmul_roof_gflops(Precision, int) { return 0; }

}  // namespace dusk
