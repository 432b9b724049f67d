// `dusk fold`: a BatchNorm-free cfg/weights pair that computes the same.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

struct FoldArgs {
  std::string cfg;
  std::string weights;
  std::string out_cfg;
  std::string out_weights;
};

int run_fold(const FoldArgs& args) {
  refuse_to_overwrite(args.out_cfg, {args.cfg, args.weights});
  refuse_to_overwrite(args.out_weights, {args.cfg, args.weights, args.out_cfg});
  const std::vector<char> text = read_file(args.cfg, kMaxCfgBytes, "cfg");
  const std::string_view cfg_text(text.data(), text.size());
  const Cfg cfg = parse_cfg(cfg_text, args.cfg);
  const Graph graph = build_graph(cfg);
  print_warnings(graph.warnings);
  const Weights weights = read_weights(args.weights, graph);
  print_warnings(weights.warnings);

  const std::string folded_text = without_batchnorm(cfg_text, cfg);
  const Graph folded_graph = build_graph(parse_cfg(folded_text, args.out_cfg));
  const Weights folded = fold_batchnorm(graph, weights);
  // Serialising against the new graph checks that the two agree.
  const std::vector<char> bytes = serialize_weights(folded_graph, folded);
  write_file_atomic(args.out_cfg, folded_text.data(), folded_text.size());
  write_file_atomic(args.out_weights, bytes.data(), bytes.size());

  int folded_layers = 0;
  for (const Layer& layer : graph.layers) {
    if (layer.param_count != folded_graph.layers[static_cast<std::size_t>(layer.index)].param_count) ++folded_layers;
  }
  std::cout << "folded BatchNorm into " << folded_layers << " layers: " << args.out_cfg << ", " << args.out_weights
            << " (" << bytes.size() << " bytes, was " << expected_file_bytes(graph, weights.header) << ")\n";
  return 0;
}

}  // namespace

void add_fold_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<FoldArgs>();
  CLI::App* command = app.add_subcommand("fold", "Write a BatchNorm-free cfg and weights that compute the same outputs");
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file")->required();
  command->add_option("out_cfg", args->out_cfg, "cfg to write, without batch_normalize")->required();
  command->add_option("out_weights", args->out_weights, "weights to write, BatchNorm folded in")->required();
  command->callback([args, &action] { action = [args] { return run_fold(*args); }; });
}

}  // namespace dusk::cli
