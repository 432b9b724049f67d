// Network: load, fold once, then run forward passes that share nothing
// mutable, so one Network serves many threads.
#include "dusk/network.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <span>
#include <string_view>
#include <system_error>
#include <thread>

#include "dusk/calibration.hpp"
#include "dusk/error.hpp"
#include "dusk/text.hpp"
#include "engine/cpu_share.hpp"
#include "engine/backend_runner.hpp"
#include "engine/fold.hpp"
#include "engine/kernel_store.hpp"
#include "engine/network_choices.hpp"
#include "weights/deferred_kernels.hpp"
#include "util/cpus.hpp"
#include "util/memory.hpp"

namespace dusk {

struct Network::Impl {
  Graph graph;
  Weights raw;  // biases and BatchNorm blocks; the kernels moved into `kernels`
  std::unique_ptr<KernelStore> kernels;  // every folded parameter, plain or in the fast path's layouts
  std::unique_ptr<BackendRunner> runner;  // chosen once, over `graph` and `kernels`
  int threads = 1;
  Precision precision = Precision::Fp32;
  std::vector<std::string> notices;

  mutable std::atomic<int> active_calls{0};
  bool adapt_threads = false;  // the default budget follows the CPU share calls get
  mutable CpuShare cpu_share;

  // `deferred`: kernels still in the weights file (Network::load, which
  // checked the file and the calibration); null when `weights` holds them all.
  Impl(Graph graph, Weights weights, const NetworkOptions& options, const DeferredKernels* deferred);

  // The layers forward() computes for `keep`, checked; `inputs` checked against the graph's input.
  std::vector<int> checked_outputs(const Tensor* inputs, std::size_t count, const std::vector<int>& keep) const;
  // Runs `count` inputs from `inputs` with this call's share of the threads.
  std::vector<std::vector<Tensor>> run(const Tensor* inputs, std::size_t count, const std::vector<int>& wanted) const;
  void prepare_runner(const DeferredKernels* deferred);
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

Network::Network(Graph graph, Weights weights, const NetworkOptions& options)
    : impl_(std::make_shared<const Impl>(std::move(graph), std::move(weights), options, nullptr)) {}

Network::Network(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Network::Impl::Impl(Graph graph_in, Weights weights, const NetworkOptions& options, const DeferredKernels* deferred)
    : graph(std::move(graph_in)) {
  if (deferred == nullptr) {
    check_weights_fit(graph, weights);
    if (options.calibration) check_calibration(graph, *options.calibration, parameter_hash(graph, weights));
  }
  const std::int64_t activations = graph.peak_activation_bytes();
  if (activations > options.max_activation_bytes) {
    throw Error({cat(graph.source, ": at ", graph.input.w, "x", graph.input.h, " the layer outputs need ",
                     activations >> 20, " MiB, more than the limit of ", options.max_activation_bytes >> 20,
                     " MiB; use a smaller input size, or raise the limit ("),
                 Option::MaxMemory, ")"});
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
  kernels = std::make_unique<KernelStore>(std::move(folded), std::move(kernel_floats));
  raw = std::move(weights);
  limit_openmp_spinning();  // the load runs OpenMP teams too (kernel reorders)
  threads = choose_threads(options.threads);
  adapt_threads = options.threads == 0;
  const Backend backend = choose_backend(options.backend);
  precision = choose_precision(options, backend, notices);
  if (backend == Backend::Fast) {
    runner = make_fast_runner(graph, *kernels,
                              FastSettings{threads, options.winograd_memory_share, precision, options.calibration});
  } else {
    runner = make_reference_runner(graph, *kernels);
  }
  prepare_runner(deferred);
}

// Kernels left in the file are read, folded, as the runner asks for them:
// the fast one takes them straight into oneDNN's layouts while its load-time
// plan is compiled, one at a time through one buffer. Whatever it did not
// take (reference layers, layers after the last head) is read into the
// store afterwards.
void Network::Impl::prepare_runner(const DeferredKernels* deferred) {
  if (deferred == nullptr) {
    runner->prepare();
    return;
  }
  const auto read_folded = [&](int index, float* kernel) {
    deferred->read(index, kernel);
    const std::size_t at = static_cast<std::size_t>(index);
    fold_kernel(graph.layers[at], raw.layers[at], kernel, deferred->floats(index), graph.source);
  };
  std::size_t largest = 0;  // the buffer kernels go through into oneDNN's layouts
  for (const Layer& layer : graph.layers) largest = std::max(largest, deferred->floats(layer.index));
  kernels->set_kernel_source(read_folded, runner->streams_kernels() ? largest : 0);
  try {
    runner->prepare();
    for (const Layer& layer : graph.layers) {
      if (deferred->holds(layer.index) && !runner->took_kernel(layer.index)) kernels->load_plain(layer.index);
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
  return Network(std::make_shared<const Impl>(std::move(graph), std::move(weights), options, &deferred));
}

const Graph& Network::graph() const { return impl_->graph; }
const std::vector<std::string>& Network::weights_warnings() const { return impl_->raw.warnings; }
Shape Network::input_shape() const { return impl_->graph.input; }
Backend Network::backend() const { return impl_->runner->kind(); }
int Network::threads() const { return impl_->threads; }
Precision Network::precision() const { return impl_->precision; }
const std::vector<std::string>& Network::notices() const { return impl_->notices; }

std::vector<std::pair<std::string, int>> Network::kernel_summary() const {
  const Impl& impl = *impl_;
  if (impl.graph.layers.empty()) return {};
  std::vector<int> outputs = impl.graph.head_layers();
  if (outputs.empty()) outputs = {static_cast<int>(impl.graph.layers.size()) - 1};
  return impl.runner->kernel_summary(outputs, impl.threads);
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

std::vector<std::vector<Tensor>> Network::Impl::run(const Tensor* inputs, std::size_t count,
                                                    const std::vector<int>& wanted) const {
  if (wanted.empty()) return std::vector<std::vector<Tensor>>(count);  // a graph without heads, nothing kept
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
    for (std::size_t i = 0; i < count; ++i) outputs[i] = runner->run(inputs[i], wanted, call_threads);
    if (watch) cpu_share.record(call_threads, monotonic_ms() - wall_start, thread_cpu_ms() - cpu_start);
    return outputs;
  }
  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(streams));
  const auto stream = [&](int s) {
    const int stream_threads = call_threads / streams + (s < call_threads % streams ? 1 : 0);
    try {
      limit_openmp_spinning();  // a setting of each thread that starts OpenMP teams
      for (std::size_t i = static_cast<std::size_t>(s); i < count; i += static_cast<std::size_t>(streams)) {
        outputs[i] = runner->run(inputs[i], wanted, stream_threads);
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
