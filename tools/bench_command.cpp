// `dusk bench`: load time, forward latency, throughput and peak memory of
// one network, for comparing with OpenCV DNN (bench/compare).
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "cli_common.hpp"
#include "dusk/options.hpp"
#include "dusk/cpu.hpp"
#include "dusk/text.hpp"
#include "commands.hpp"

namespace dusk::cli {

namespace {

struct BenchArgs {
  std::string cfg;
  std::string weights;
  std::string size;
  std::string backend = "auto";
  PrecisionFlags precision;
  int threads = 0;
  double winograd_share = kDefaultWinogradMemoryShare;
  int iters = 20;
  int warmup = 3;
  int batch = 1;
  bool json = false;
  bool roof = true;  // --no-roof: false
};

// A /proc/self/status field in MiB (VmHWM, VmRSS); -1 when absent.
double status_mb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtod(line.c_str() + field.size() + 1, nullptr) / 1024.0;
  }
  return -1;
}

// Peak resident memory of the process from the last reset_peak_rss() on
// (VmHWM), or over its whole life where /proc does not allow resetting it.
// It includes what the process held before loading: the dusk binary maps
// OpenCV, oneDNN, ONNX and protobuf, about 75 MB resident before any network.
double peak_rss_mb() {
  const double hwm = status_mb("VmHWM");
  if (hwm >= 0) return hwm;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Waits until a file just written is on disk, so that its write-back does not
// run on the cores while loading is timed; its pages stay cached.
void settle_on_disk(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::close(fd);
}

// Makes the current resident size the new peak, so that what the benchmark
// itself held before loading (random weights) is not counted.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

int run_bench(const BenchArgs& args) {
  const Size size = parse_size(args.size);
  NetworkOptions options{size.width, size.height, args.threads, backend_option(args.backend)};
  options.winograd_memory_share = args.winograd_share;
  apply_precision_flags(args.precision, options);
  // Random weights are written to a temporary file before the clock starts,
  // so the load timed is the real one, from a file in the page cache.
  std::string weights_path = args.weights;
  std::optional<TemporaryFile> random;
  if (args.weights == "-") {
    const Graph graph = load_graph(args.cfg, GraphOptions{size.width, size.height});
    random.emplace("dusk-bench", ".weights");
    write_weights(random->path(), graph, random_weights(graph, 1));
    settle_on_disk(random->path());
    weights_path = random->path();
  }
  reset_peak_rss();
  const double rss_before_load = std::max(0.0, status_mb("VmRSS"));
  const auto load_start = std::chrono::steady_clock::now();
  const Network network = Network::load(args.cfg, weights_path, options);
  const double load_ms = ms_since(load_start);
  print_notices(network);

  // Each timed pass runs one batch of different images.
  std::vector<Tensor> inputs(static_cast<std::size_t>(args.batch), Tensor(network.input_shape()));
  std::mt19937 engine(1);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  for (Tensor& input : inputs) {
    for (float& v : input.data) v = unit(engine);
  }
  const auto pass = [&] { network.forward_batch(inputs); };  // one input: exactly forward()
  for (int i = 0; i < args.warmup; ++i) pass();
  std::vector<double> times;
  for (int i = 0; i < args.iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    pass();
    times.push_back(ms_since(start));
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];  // of one pass (a whole batch)
  const double images_per_s = args.batch * 1000.0 / median;
  const double bflops = network.graph().total_bflops();
  const std::string backend(backend_name(network.backend()));
  const std::string precision(precision_name(network.precision()));
  // The CPU's practical peak per precision on the same threads, measured
  // after the run so that it does not warm the caches for it.
  std::vector<std::pair<Precision, double>> roofs;
  if (args.roof) {
    for (const Precision p : {Precision::Fp32, Precision::Bf16, Precision::Int8}) {
      const double gflops = matmul_roof_gflops(p, network.threads());
      if (gflops > 0) roofs.emplace_back(p, gflops);
    }
  }
  const double gflops = bflops * args.batch / (median / 1000.0);
  double own_roof = 0;  // of the precision this run computed in
  for (const auto& [p, roof] : roofs) {
    if (p == network.precision()) own_roof = roof;
  }
  std::string kernels;  // which implementation (and so which ISA) each convolution got
  for (const auto& [impl, layers] : network.kernel_summary()) kernels += cat(kernels.empty() ? "" : ", ", impl, " x", layers);
  if (args.json) {
    const nlohmann::ordered_json json{{"cfg", args.cfg},
                                      {"input", to_string(network.input_shape())},
                                      {"backend", backend},
                                      {"precision", precision},
                                      {"cpu", cpu_model_name()},
                                      {"cpu_features", describe(cpu_features())},
                                      {"kernels", kernels},
                                      {"threads", network.threads()},
                                      {"iters", args.iters},
                                      {"batch", args.batch},
                                      {"images_per_s", images_per_s},
                                      {"median_ms", median},
                                      {"min_ms", times.front()},
                                      {"max_ms", times.back()},
                                      {"load_ms", load_ms},
                                      {"bflops", bflops},
                                      {"gflops", gflops},
                                      {"peak_rss_mb", peak_rss_mb()},
                                      {"rss_before_load_mb", rss_before_load},
                                      {"network_peak_mb", peak_rss_mb() - rss_before_load},
                                      {"openmp_runtime", openmp_runtime_file()}};
    nlohmann::ordered_json with_roof = json;
    if (args.roof) {
      nlohmann::ordered_json per_precision = nlohmann::ordered_json::object();
      for (const auto& [p, roof] : roofs) per_precision[std::string(precision_name(p))] = roof;
      with_roof["roof_gflops"] = per_precision;
      with_roof["share_of_roof"] = own_roof > 0 ? gflops / own_roof : 0.0;
    }
    std::printf("%s\n", with_roof.dump().c_str());
  } else {
    const std::string batch = args.batch == 1 ? "" : cat(", batch ", args.batch);
    std::printf("%s %s, %s backend, %s, %d thread%s%s: median %.2f ms (min %.2f, max %.2f) over %d runs, %.1f images/s, "
                "%.1f GFLOP/s; load %.1f ms; peak RSS %.0f MB (%.0f MB before loading); OpenMP runtime %s\n",
                args.cfg.c_str(), to_string(network.input_shape()).c_str(), backend.c_str(), precision.c_str(),
                network.threads(), network.threads() == 1 ? "" : "s", batch.c_str(), median, times.front(), times.back(), args.iters, images_per_s,
                gflops, load_ms, peak_rss_mb(), rss_before_load, openmp_runtime_file().c_str());
    std::printf("CPU: %s (%s); convolutions: %s\n", cpu_model_name().c_str(), describe(cpu_features()).c_str(),
                kernels.empty() ? "reference kernels" : kernels.c_str());
    if (!roofs.empty()) {
      std::string line;
      for (const auto& [p, roof] : roofs) line += cat(line.empty() ? "" : ", ", precision_name(p), " ", static_cast<int>(roof));
      std::printf("roof (a oneDNN 1024^3 matrix product on %d thread%s, GFLOP/s): %s; this %s run reaches %.0f%% of "
                  "the %s roof\n",
                  network.threads(), network.threads() == 1 ? "" : "s", line.c_str(), precision.c_str(),
                  own_roof > 0 ? 100.0 * gflops / own_roof : 0.0, precision.c_str());
    }
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* command = app.add_subcommand("bench", "Time forward passes of a network");
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file, or - for seeded random weights")->required();
  command->add_option("--size", args->size, "input size WxH instead of the cfg's");
  command->add_option("--threads", args->threads, "threads to use (default: all cores)")->check(CLI::NonNegativeNumber);
  command->add_option("--iters", args->iters, "timed forward passes")->capture_default_str()->check(CLI::PositiveNumber);
  command->add_option("--warmup", args->warmup, "untimed passes first")->capture_default_str()->check(CLI::NonNegativeNumber);
  command->add_option("--batch", args->batch, "images per pass (Network::forward_batch); times are per pass")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  command->add_option("--backend", args->backend, "auto, fast (oneDNN) or ref (reference kernels)")->capture_default_str();
  add_precision_flags(*command, args->precision);
  command->add_option("--winograd-share", args->winograd_share,
                      "memory Winograd kernels may add, as a share of the kernel bytes, at least 32 MiB (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--json", args->json, "print one JSON object");
  command->add_flag("!--no-roof", args->roof,
                    "skip measuring the CPU's peak (a oneDNN matrix product per precision, about 0.3 s each)");
  command->callback([args, &action] { action = [args] { return run_bench(*args); }; });
}

}  // namespace dusk::cli
