// `dusk partial`: the first N layers' parameters, as Darknet's `partial`
// makes backbone files such as darknet53.conv.74 for transfer learning.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

struct PartialArgs {
  std::string cfg;
  std::string weights;
  std::string out_weights;
  int layers = 0;
};

int run_partial(const PartialArgs& args) {
  refuse_to_overwrite(args.out_weights, {args.cfg, args.weights});
  const Graph graph = load_graph(args.cfg);
  print_warnings(graph.warnings);
  const int count = static_cast<int>(graph.layers.size());
  if (args.layers < 1 || args.layers > count) {
    throw UsageError(cat("N=", args.layers, " is out of range; ", graph.source, " has ", count,
                         " layers, so use 1..", count));
  }
  WeightsFit fit;
  const Weights weights = read_weights_partial(args.weights, graph, fit);
  if (fit.first_incomplete_layer >= 0 && fit.first_incomplete_layer < args.layers) {
    throw Error(cat(args.weights, ": runs out in ", graph.describe(fit.first_incomplete_layer),
                    ", before layer ", args.layers, "; ", diagnose_misfit(graph, fit)));
  }
  // Darknet writes a fresh 0.2.5 header with nothing seen, so training restarts.
  Weights out = weights;
  out.header = WeightsHeader{};
  write_weights(args.out_weights, graph, out, args.layers);
  std::int64_t floats = 0;
  for (int i = 0; i < args.layers; ++i) floats += graph.layers[static_cast<std::size_t>(i)].param_count;
  std::cout << "wrote layers 0.." << args.layers - 1 << " to " << args.out_weights << " (" << floats << " floats, "
            << out.header.size_bytes() + static_cast<std::uint64_t>(floats) * sizeof(float) << " bytes)\n";
  return 0;
}

}  // namespace

void add_partial_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<PartialArgs>();
  CLI::App* command = app.add_subcommand("partial", "Write the first N layers' weights (a backbone file)");
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file")->required();
  command->add_option("out_weights", args->out_weights, "weights file to write")->required();
  command->add_option("N", args->layers, "how many layers to keep, from layer 0")->required();
  command->callback([args, &action] { action = [args] { return run_partial(*args); }; });
}

}  // namespace dusk::cli
