// dusk calibrate: int8 activation ranges measured over sample images, for
// --precision int8 --calib FILE.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "dusk/options.hpp"
#include "dusk/run.hpp"
#include "dusk/text.hpp"
#include "progress.hpp"

namespace dusk::cli {

namespace {

struct CalibrateArgs {
  std::string cfg;
  std::string weights;
  std::vector<std::string> inputs;
  std::string out;
  std::string method = "percentile";
  double percentile = 99.99;
  std::string size;
  bool letterbox = false;
  int threads = 0;
};

int run_calibrate(const CalibrateArgs& args) {
  if (args.method != "max" && args.method != "percentile") {
    throw UsageError(unknown_name("--method", args.method, "max or percentile"));
  }
  if (!(args.percentile > 0 && args.percentile <= 100)) throw UsageError("--percentile must be in (0, 100]");
  refuse_to_overwrite(args.out, {args.cfg, args.weights});
  const std::vector<std::string> images = expand_images(args.inputs, "calibrate on");
  const Size size = parse_size(args.size);
  NetworkOptions options{size.width, size.height, args.threads, Backend::Auto};
  const Graph graph = load_graph(args.cfg, GraphOptions{size.width, size.height});
  print_warnings(graph.warnings);
  // "-": the seeded random weights every command makes from "-" (benchmarks).
  const Weights weights = args.weights == "-" ? random_weights(graph, 1) : read_weights(args.weights, graph);
  print_warnings(weights.warnings);
  const std::uint64_t hash = args.weights == "-" ? parameter_hash(graph, weights) : parameter_hash(graph, args.weights);
  const CalibrationMethod method = args.method == "max" ? CalibrationMethod::Max : CalibrationMethod::Percentile;
  Calibrator calibrator(graph, weights, options, method, args.percentile);
  const Shape shape = calibrator.input_shape();
  Progress progress("images", static_cast<std::int64_t>(images.size()));
  const auto start = std::chrono::steady_clock::now();
  std::size_t done = 0;
  std::vector<std::string> skipped;
  // Images load and fit on the job's workers, in order; the passes run here.
  JobOptions job;
  job.shell = Shell::Cli;
  run_fitting_job(ImageFit{shape.w, shape.h, args.letterbox}, image_files(images), job, [&](JobItem&& item) {
    if (item.error.empty()) {
      Tensor input;
      input.shape = shape;
      input.data = std::move(item.fitted.data);
      calibrator.add(input);
      ++done;
    } else {
      skipped.push_back(item.error);
    }
    progress.update(static_cast<std::int64_t>(done + skipped.size()));
  });
  progress.clear();
  for (const std::string& why : skipped) std::fprintf(stderr, "dusk: calibrate: skipped %s\n", why.c_str());
  if (done == 0) throw Error(cat("none of the ", images.size(), " images could be read; nothing was written"));
  const Calibration calibration = calibrator.result(hash);
  write_calibration(args.out, calibration);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "dusk: calibrate: %zu images in %.1f s, %zu tensors and %zu convolution outputs (%s), wrote %s\n",
               done, seconds, calibration.ranges.size(), calibration.conv_outputs.size(), args.method.c_str(),
               args.out.c_str());
  return 0;
}

}  // namespace

void add_calibrate_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* command = app.add_subcommand(
      "calibrate", "Measure int8 activation ranges over sample images (for --precision int8 --calib FILE)");
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file, or - for seeded random weights")->required();
  command->add_option("images", args->inputs, "images or directories of images (a few dozen typical ones)")->required();
  command->add_option("-o,--out", args->out, "calibration file to write (text; tied to these weights)")->required();
  command->add_option("--method", args->method,
                      "max: the largest |x| seen (nothing clips); percentile: that percentile of |x| (outliers clip)")
      ->capture_default_str();
  command->add_option("--percentile", args->percentile, "for --method percentile")->capture_default_str();
  command->add_option("--size", args->size, "input size WxH instead of the cfg's");
  command->add_flag("--letterbox", args->letterbox, "letterbox the images as detect --letterbox would");
  command->add_option("--threads", args->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  command->callback([args, &action] { action = [args] { return run_calibrate(*args); }; });
}

}  // namespace dusk::cli
