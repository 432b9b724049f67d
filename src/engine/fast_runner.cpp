// The fast backend: oneDNN plans (dnnl/fast_plan.hpp), one per set of
// requested outputs and thread count, built on first use and sharing the
// kernels already reordered into oneDNN's layouts.
#include <map>
#include <mutex>

#include "engine/backend_runner.hpp"
#include "engine/dnnl/fast_plan.hpp"

namespace dusk {
namespace {

class FastRunner final : public BackendRunner {
 public:
  FastRunner(const Graph& graph, KernelStore& store, const FastSettings& settings)
      : graph_(graph), store_(store), settings_(settings) {
    weights_.configure(settings.network_threads, settings.winograd_memory_share, store);
  }

  Backend kind() const override { return Backend::Fast; }

  // The common case, every head on the whole budget, is compiled at load.
  void prepare() override {
    if (!graph_.head_layers().empty()) plan_for(graph_.head_layers(), settings_.network_threads);
  }
  bool streams_kernels() const override { return !graph_.head_layers().empty(); }
  bool took_kernel(int layer) const override { return weights_.holds_kernel(layer); }

  std::vector<Tensor> run(const Tensor& input, const std::vector<int>& wanted, int threads) const override {
    return plan_for(wanted, threads)->run(input);
  }
  std::vector<std::pair<std::string, int>> kernel_summary(const std::vector<int>& outputs,
                                                          int threads) const override {
    return plan_for(outputs, threads)->kernel_summary();
  }

 private:
  std::shared_ptr<const FastPlan> plan_for(const std::vector<int>& keep, int threads) const {
    const std::lock_guard<std::mutex> lock(plans_mutex_);
    auto& plan = plans_[{keep, threads}];
    if (!plan) {
      plan = FastPlan::build(graph_, store_, keep, threads, settings_.precision, settings_.calibration.get(), weights_);
    }
    return plan;
  }

  const Graph& graph_;
  KernelStore& store_;
  FastSettings settings_;
  mutable std::mutex plans_mutex_;
  mutable std::map<std::pair<std::vector<int>, int>, std::shared_ptr<const FastPlan>> plans_;
  mutable FastWeights weights_;
};

}  // namespace

std::unique_ptr<BackendRunner> make_fast_runner(const Graph& graph, KernelStore& store, const FastSettings& settings) {
  return std::make_unique<FastRunner>(graph, store, settings);
}

}  // namespace dusk
