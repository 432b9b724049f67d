// A FastPlan: built by the Builder (plan_builder.hpp), then run by any
// number of threads at once, each call on a frame (arena) from a pool.
#include "engine/dnnl/fast_plan.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "dusk/error.hpp"
#include "engine/dnnl/plan_builder.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

// Sets this thread's OpenMP team size for the scope, as oneDNN reads it
// when primitives are created.
class OmpThreads {
 public:
  explicit OmpThreads(int threads) : saved_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~OmpThreads() { omp_set_num_threads(saved_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
};

}  // namespace

FastPlan::FastPlan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FastPlan::~FastPlan() = default;

std::unique_ptr<FastPlan> FastPlan::build(const Graph& graph, KernelStore& store, const std::vector<int>& keep,
                                          int threads, Precision precision, const Calibration* calibration,
                                          FastWeights& weights) {
  const OmpThreads scope(threads);
  auto impl = std::make_unique<Impl>();
  impl->engine = weights.impl->engine;
  impl->threads = threads;
  try {
    fast::Builder(graph, store, *impl, weights, precision, calibration).build(keep);
  } catch (const dnnl::error& error) {
    throw Error({cat(graph.source, ": oneDNN could not compile the network (", error.what(),
                     "); run it on the reference backend ("),
                 Option::Backend, " ref)"});
  }
  return std::unique_ptr<FastPlan>(new FastPlan(std::move(impl)));
}

std::vector<Tensor> FastPlan::run(const Tensor& input) const {
  const OmpThreads scope(impl_->threads);
  std::unique_ptr<fast::Frame> frame;
  {
    const std::lock_guard<std::mutex> lock(impl_->pool_mutex);
    if (!impl_->idle_frames.empty()) {
      frame = std::move(impl_->idle_frames.back());
      impl_->idle_frames.pop_back();
    }
  }
  if (!frame) frame = std::make_unique<fast::Frame>(impl_->engine, impl_->values, impl_->scratchpads, impl_->arena_bytes);
  frame->threads = impl_->threads;
  frame->memory(0).set_data_handle(const_cast<float*>(input.data.data()));
  try {
    for (const auto& step : impl_->steps) step->run(*frame);
    frame->stream().wait();
  } catch (const dnnl::error& error) {
    throw Error({cat("oneDNN failed while running the network (", error.what(), "); run it on the reference backend ("),
                 Option::Backend, " ref)"});
  }

  std::vector<Tensor> outputs;
  for (std::size_t i = 0; i < impl_->outputs.size(); ++i) {
    Tensor tensor(impl_->output_shapes[i]);
    std::memcpy(tensor.data.data(), frame->data(impl_->outputs[i]), tensor.data.size() * sizeof(float));
    outputs.push_back(std::move(tensor));
  }
  const std::lock_guard<std::mutex> lock(impl_->pool_mutex);
  impl_->idle_frames.push_back(std::move(frame));
  return outputs;
}

std::vector<std::pair<std::string, int>> FastPlan::kernel_summary() const {
  std::vector<std::pair<std::string, int>> summary;
  for (const std::string& impl : impl_->convolution_impls) {
    auto found = std::find_if(summary.begin(), summary.end(), [&](const auto& entry) { return entry.first == impl; });
    if (found == summary.end()) summary.emplace_back(impl, 1);
    else ++found->second;
  }
  return summary;
}

bool fast_backend_compiled() { return true; }

}  // namespace dusk
