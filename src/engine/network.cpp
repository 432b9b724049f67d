// Network: load, fold once, then run forward passes that share nothing
// mutable, so one Network serves many threads.
#include "dusk/network.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <span>
#include <string_view>
#include <system_error>
#include <thread>

#include "dusk/calibration.hpp"
#include "dusk/error.hpp"
#include "dusk/text.hpp"
#include "engine/cpu_share.hpp"
#include "engine/dnnl/fast_plan.hpp"
#include "engine/fold.hpp"
#include "engine/kernel_store.hpp"
#include "engine/network_choices.hpp"
#include "engine/reference_runner.hpp"
#include "weights/deferred_kernels.hpp"
#include "util/cpus.hpp"
#include "util/memory.hpp"

namespace dusk {

struct Network::Impl {
  Graph graph;
  Weights raw;  // biases and BatchNorm blocks; the kernels moved into `kernels`
  std::unique_ptr<KernelStore> kernels;  // every folded parameter, plain or in the fast path's layouts
  // Reference backend: each layer's pinned parameters, taken from the store
  // once at load so a forward pass neither locks nor names layers.
  std::vector<const FoldedLayer*> reference_params;
  std::vector<int> last_reader;  // per layer: the last layer that reads its output
  int threads = 1;
  Backend backend = Backend::Reference;
  Precision precision = Precision::Fp32;
  std::shared_ptr<const Calibration> calibration;  // int8's ranges, checked against the weights
  std::vector<std::string> notices;

  // Fast plans per set of requested outputs and thread count, built on
  // first use; they share the reordered weights.
  mutable std::mutex plans_mutex;
  mutable std::map<std::pair<std::vector<int>, int>, std::shared_ptr<const FastPlan>> plans;
  mutable FastWeights fast_weights;
  mutable std::atomic<int> active_calls{0};
  bool adapt_threads = false;  // the default budget follows the CPU share calls get
  mutable CpuShare cpu_share;

  std::shared_ptr<const FastPlan> plan_for(const std::vector<int>& keep, int call_threads) const;
  // The layers forward() computes for `keep`, checked; `inputs` checked against the graph's input.
  std::vector<int> checked_outputs(const Tensor* inputs, std::size_t count, const std::vector<int>& keep) const;
  // Runs `count` inputs from `inputs` with this call's share of the threads.
  // run_one: one input on `call_threads` threads.
  std::vector<Tensor> run_one(const Tensor& input, const std::vector<int>& wanted, int call_threads) const;
  std::vector<std::vector<Tensor>> run(const Tensor* inputs, std::size_t count, const std::vector<int>& wanted) const;
  void load_deferred_kernels(const DeferredKernels& deferred);
};

namespace {

// Counts a call in while it runs, so concurrent calls can share the cores.
class ActiveCall {
 public:
  explicit ActiveCall(std::atomic<int>& counter) : counter_(counter), count_(++counter) {}
  ~ActiveCall() { --counter_; }
  int count() const { return count_; }

 private:
  std::atomic<int>& counter_;
  int count_;
};

}  // namespace

std::shared_ptr<const FastPlan> Network::Impl::plan_for(const std::vector<int>& keep, int call_threads) const {
  const std::lock_guard<std::mutex> lock(plans_mutex);
  auto& plan = plans[{keep, call_threads}];
  if (!plan) plan = FastPlan::build(graph, *kernels, keep, call_threads, precision, calibration.get(), fast_weights);
  return plan;
}

Network::Network(Graph graph, Weights weights, const NetworkOptions& options)
    : Network(std::move(graph), std::move(weights), options, nullptr) {}

Network::Network(Graph graph, Weights weights, const NetworkOptions& options, const DeferredKernels* deferred) {
  auto impl = std::make_shared<Impl>();
  if (deferred == nullptr) {  // Network::load checked the file and its calibration
    check_weights_fit(graph, weights);
    if (options.calibration) check_calibration(graph, *options.calibration, parameter_hash(graph, weights));
  }
  const std::int64_t activations = graph.peak_activation_bytes();
  if (activations > options.max_activation_bytes) {
    throw Error(cat(graph.source, ": at ", graph.input.w, "x", graph.input.h, " the layer outputs need ",
                    activations >> 20, " MiB, more than the limit of ", options.max_activation_bytes >> 20,
                    " MiB; use a smaller input size, or raise the limit (NetworkOptions::max_activation_bytes)"));
  }
  std::vector<FoldedLayer> folded;
  std::vector<std::size_t> kernel_floats;
  folded.reserve(graph.layers.size());
  for (const Layer& layer : graph.layers) {
    LayerParams& params = weights.layers[static_cast<std::size_t>(layer.index)];
    folded.push_back(fold_layer_taking_weights(layer, params, graph.source));
    const bool in_file = deferred != nullptr && deferred->holds(layer.index);
    kernel_floats.push_back(in_file ? deferred->floats(layer.index) : folded.back().weights.size());
  }
  impl->kernels = std::make_unique<KernelStore>(std::move(folded), std::move(kernel_floats));
  impl->last_reader = graph.last_readers();
  limit_openmp_spinning();  // the load runs OpenMP teams too (kernel reorders)
  impl->threads = choose_threads(options.threads);
  impl->adapt_threads = options.threads == 0;
  impl->backend = choose_backend(options.backend);
  impl->precision = choose_precision(options, impl->backend, impl->notices);
  impl->calibration = options.calibration;
  impl->fast_weights.configure(impl->threads, options.winograd_memory_share, *impl->kernels);
  impl->graph = std::move(graph);
  impl->raw = std::move(weights);
  if (deferred != nullptr) impl->load_deferred_kernels(*deferred);
  else if (impl->backend == Backend::Fast && !impl->graph.head_layers().empty()) {
    impl->plan_for(impl->graph.head_layers(), impl->threads);  // compile the common case at load time
  }
  if (impl->backend == Backend::Reference) {
    for (const Layer& layer : impl->graph.layers) {
      impl->reference_params.push_back(&impl->kernels->plain(layer.index, impl->graph.describe(layer.index)));
    }
  }
  impl_ = std::move(impl);
}

// Kernels left in the file go straight into oneDNN's layouts while the
// load-time plan is compiled, one at a time through one buffer; whatever that
// plan did not take (reference layers, layers after the last head, the
// reference backend) is read into the store afterwards.
void Network::Impl::load_deferred_kernels(const DeferredKernels& deferred) {
  const auto read_folded = [&](int index, float* kernel) {
    deferred.read(index, kernel);
    const std::size_t at = static_cast<std::size_t>(index);
    fold_kernel(graph.layers[at], raw.layers[at], kernel, deferred.floats(index), graph.source);
  };
  const bool fast_plan = backend == Backend::Fast && !graph.head_layers().empty();
  std::size_t largest = 0;  // the buffer kernels go through into oneDNN's layouts
  for (const Layer& layer : graph.layers) largest = std::max(largest, deferred.floats(layer.index));
  kernels->set_kernel_source(read_folded, fast_plan ? largest : 0);
  try {
    if (fast_plan) plan_for(graph.head_layers(), threads);
    for (const Layer& layer : graph.layers) {
      if (deferred.holds(layer.index) && !fast_weights.holds_kernel(layer.index)) kernels->load_plain(layer.index);
    }
  } catch (...) {
    kernels->set_kernel_source(nullptr, 0);
    throw;
  }
  kernels->set_kernel_source(nullptr, 0);
}

Network Network::load(const std::string& cfg_path, const std::string& weights_path, const NetworkOptions& options) {
  return load(load_graph(cfg_path, GraphOptions{options.width, options.height}), weights_path, options);
}

Network Network::load(Graph graph, const std::string& weights_path, const NetworkOptions& options) {
  if (options.calibration) check_calibration(graph, *options.calibration, parameter_hash(graph, weights_path));
  DeferredKernels deferred;
  Weights weights = read_weights_deferring_kernels(weights_path, graph, deferred);
  return Network(std::move(graph), std::move(weights), options, &deferred);
}

const Graph& Network::graph() const { return impl_->graph; }
const std::vector<std::string>& Network::weights_warnings() const { return impl_->raw.warnings; }
Shape Network::input_shape() const { return impl_->graph.input; }
Backend Network::backend() const { return impl_->backend; }
int Network::threads() const { return impl_->threads; }
Precision Network::precision() const { return impl_->precision; }
const std::vector<std::string>& Network::notices() const { return impl_->notices; }

std::vector<std::pair<std::string, int>> Network::kernel_summary() const {
  const Impl& impl = *impl_;
  if (impl.backend != Backend::Fast || impl.graph.layers.empty()) return {};
  std::vector<int> outputs = impl.graph.head_layers();
  if (outputs.empty()) outputs = {static_cast<int>(impl.graph.layers.size()) - 1};
  return impl.plan_for(outputs, impl.threads)->kernel_summary();
}

std::vector<int> Network::Impl::checked_outputs(const Tensor* inputs, std::size_t count,
                                                const std::vector<int>& keep) const {
  for (const Tensor& input : std::span(inputs, count)) {
    if (input.shape != graph.input || static_cast<std::int64_t>(input.data.size()) != graph.input.size()) {
      throw Error(cat("input tensor is ", to_string(input.shape), " but ", graph.source, " takes ",
                      to_string(graph.input), "; resize the input or build the network for that size"));
    }
  }
  const std::vector<int> wanted = keep.empty() ? graph.head_layers() : keep;
  for (const int index : wanted) {
    if (index < 0 || index >= static_cast<int>(graph.layers.size())) {
      throw Error(cat("layer ", index, " does not exist; ", graph.source, " has layers 0..", graph.layers.size() - 1));
    }
  }
  return wanted;
}

std::vector<Tensor> Network::Impl::run_one(const Tensor& input, const std::vector<int>& wanted,
                                           int call_threads) const {
  if (backend == Backend::Fast && !wanted.empty()) return plan_for(wanted, call_threads)->run(input);
  return run_reference(graph, reference_params, last_reader, input, wanted, call_threads);
}

std::vector<std::vector<Tensor>> Network::Impl::run(const Tensor* inputs, std::size_t count,
                                                    const std::vector<int>& wanted) const {
  limit_openmp_spinning();
  const ActiveCall call(active_calls);
  const int budget = adapt_threads ? cpu_share.threads_for(threads) : threads;
  const int call_threads = std::max(1, budget / call.count());
  std::vector<std::vector<Tensor>> outputs(count);
  // Several images run side by side, each on a share of the threads: a
  // layer keeps one more thread only partly busy (yolov4-tiny at 416: 1.5x
  // faster on 2 threads than on 1), two images on one thread each keep both
  // fully busy. One image per stream at a time, so memory grows with the
  // streams (at most the threads), not with the batch.
  const int streams = static_cast<int>(std::min<std::size_t>(count, static_cast<std::size_t>(call_threads)));
  if (streams == 1) {
    const bool watch = adapt_threads && call_threads > 1;
    const double wall_start = watch ? monotonic_ms() : 0;
    const double cpu_start = watch ? thread_cpu_ms() : 0;
    for (std::size_t i = 0; i < count; ++i) outputs[i] = run_one(inputs[i], wanted, call_threads);
    if (watch) cpu_share.record(call_threads, monotonic_ms() - wall_start, thread_cpu_ms() - cpu_start);
    return outputs;
  }
  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(streams));
  const auto stream = [&](int s) {
    const int stream_threads = call_threads / streams + (s < call_threads % streams ? 1 : 0);
    try {
      limit_openmp_spinning();  // a setting of each thread that starts OpenMP teams
      for (std::size_t i = static_cast<std::size_t>(s); i < count; i += static_cast<std::size_t>(streams)) {
        outputs[i] = run_one(inputs[i], wanted, stream_threads);
      }
    } catch (...) {
      failures[static_cast<std::size_t>(s)] = std::current_exception();
    }
  };
  std::vector<std::thread> others;
  std::vector<int> here;  // streams this thread runs itself: no thread could be started for them
  for (int s = 1; s < streams; ++s) {
    try {
      others.emplace_back(stream, s);
    } catch (const std::system_error&) {
      here.push_back(s);
    }
  }
  stream(0);
  for (const int s : here) stream(s);
  for (std::thread& other : others) other.join();
  for (const std::exception_ptr& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
  return outputs;
}

std::vector<Tensor> Network::forward(const Tensor& input, const std::vector<int>& keep) const {
  const std::vector<int> wanted = impl_->checked_outputs(&input, 1, keep);
  return std::move(impl_->run(&input, 1, wanted).front());
}

std::vector<std::vector<Tensor>> Network::forward_batch(const std::vector<Tensor>& inputs,
                                                        const std::vector<int>& keep) const {
  if (inputs.empty()) return {};
  const std::vector<int> wanted = impl_->checked_outputs(inputs.data(), inputs.size(), keep);
  return impl_->run(inputs.data(), inputs.size(), wanted);
}

int default_threads() {
  const int quota = cgroup_cpu_limit();
  const int cpus = affinity_cpu_count();
  return quota > 0 ? std::min(cpus, quota) : cpus;
}

}  // namespace dusk
