// `dusk adapt-bn`: BatchNorm statistics re-estimated on images of a new
// domain (AdaBN), written to a new weights file.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <optional>

#include "cli_common.hpp"
#include "commands.hpp"
#include "progress.hpp"

namespace dusk::cli {

namespace {

struct AdaptBnArgs {
  std::string cfg;
  std::string weights;
  std::vector<std::string> inputs;
  std::string out;
  int batch = 8;
  std::optional<double> momentum;
  bool letterbox = false;
  int threads = 0;
};

int run_adapt_bn(const AdaptBnArgs& args) {
  refuse_to_overwrite(args.out, {args.cfg, args.weights});
  const std::vector<std::string> images = expand_images(args.inputs, "adapt on");
  AdaptBnOptions options;
  options.batch = args.batch;
  options.momentum = args.momentum;
  options.letterbox = args.letterbox;
  options.threads = args.threads;

  Progress progress("images", static_cast<std::int64_t>(images.size()));
  const auto start = std::chrono::steady_clock::now();
  const AdaptBnResult result =
      adapt_batchnorm(args.cfg, args.weights, images, args.out, options,
                      [&](std::int64_t done, std::int64_t) { progress.update(done); });
  progress.clear();
  for (const auto& [path, why] : result.skipped) std::fprintf(stderr, "dusk: adapt-bn: skipped %s: %s\n", path.c_str(), why.c_str());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "dusk: adapt-bn: %s in %s (%zu skipped) in %.1f s; the statistics of %s re-estimated (%s); wrote %s\n",
               count_of(result.images, "image", "images").c_str(), count_of(result.batches, "batch", "batches").c_str(),
               result.skipped.size(), seconds,
               count_of(static_cast<std::int64_t>(result.layers.size()), "BatchNorm layer", "BatchNorm layers").c_str(),
               args.momentum ? "exponential average" : "cumulative average", args.out.c_str());
  return 0;
}

}  // namespace

void add_adapt_bn_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<AdaptBnArgs>();
  CLI::App* command = app.add_subcommand(
      "adapt-bn", "Re-estimate BatchNorm means and variances on unlabeled images of a new domain (AdaBN)");
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file")->required();
  command->add_option("images", args->inputs, "images or directories of images of the new domain")->required();
  command->add_option("-o,--out", args->out, "weights file to write (only BatchNorm statistics and 'seen' change)")
      ->required();
  command->add_option("--batch", args->batch, "images normalized together, as one training batch")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--momentum", args->momentum,
                      "exponential average in PyTorch's convention (running = (1-m) running + m batch, from the "
                      "file's statistics; Darknet trains with 0.01); default: the plain average over all batches")
      ->check(CLI::Range(0.0, 1.0).description("in (0, 1]"));
  command->add_flag("--letterbox", args->letterbox, "letterbox the images as detect --letterbox would");
  command->add_option("--threads", args->threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  command->callback([args, &action] { action = [args] { return run_adapt_bn(*args); }; });
}

}  // namespace dusk::cli
