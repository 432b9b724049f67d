// `dusk diff`: what changed between two weights files of one cfg, layer by
// layer and block by block, the most-changed layers first.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "cli_common.hpp"
#include "commands.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

struct DiffArgs {
  std::string cfg;
  std::string a;
  std::string b;
};

struct BlockDiff {
  const char* block = "";
  double max_abs = 0;
  double max_rel = 0;   // |a-b| / max(|a|, |b|)
  std::int64_t changed = 0;
  std::int64_t count = 0;
};

struct LayerDiff {
  int index = 0;
  std::vector<BlockDiff> blocks;
  double max_rel = 0;
};

BlockDiff compare_block(const char* name, const std::vector<float>& a, const std::vector<float>& b) {
  BlockDiff d;
  d.block = name;
  d.count = static_cast<std::int64_t>(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) == 0) continue;  // bitwise, so NaN equals itself
    ++d.changed;
    const double diff = std::fabs(double{a[i]} - double{b[i]});
    const double scale = std::max(std::fabs(double{a[i]}), std::fabs(double{b[i]}));
    const double rel = std::isfinite(diff) ? (scale > 0 ? diff / scale : 0) : INFINITY;
    d.max_abs = std::isfinite(diff) ? std::max(d.max_abs, diff) : INFINITY;
    d.max_rel = std::max(d.max_rel, rel);
  }
  return d;
}

int run_diff(const DiffArgs& args) {
  const Graph graph = load_graph(args.cfg);
  print_warnings(graph.warnings);
  const Weights a = read_weights(args.a, graph);
  print_warnings(a.warnings);
  const Weights b = read_weights(args.b, graph);
  print_warnings(b.warnings);

  std::vector<LayerDiff> changed;
  int compared = 0;
  for (const Layer& layer : graph.layers) {
    if (layer.param_count == 0) continue;
    ++compared;
    const LayerParams& pa = a.layers[static_cast<std::size_t>(layer.index)];
    const LayerParams& pb = b.layers[static_cast<std::size_t>(layer.index)];
    LayerDiff diff{layer.index, {}, 0};
    const std::pair<const char*, const std::vector<float> LayerParams::*> blocks[] = {
        {"biases", &LayerParams::biases}, {"scales", &LayerParams::scales},   {"mean", &LayerParams::mean},
        {"variance", &LayerParams::variance}, {"weights", &LayerParams::weights}};
    for (const auto& [name, member] : blocks) {
      if ((pa.*member).empty()) continue;
      const BlockDiff block = compare_block(name, pa.*member, pb.*member);
      if (block.changed == 0) continue;
      diff.max_rel = std::max(diff.max_rel, block.max_rel);
      diff.blocks.push_back(block);
    }
    if (!diff.blocks.empty()) changed.push_back(diff);
  }
  if (a.header.seen != b.header.seen) {
    std::printf("headers: seen %llu vs %llu images\n", static_cast<unsigned long long>(a.header.seen),
                static_cast<unsigned long long>(b.header.seen));
  }
  if (changed.empty()) {
    std::printf("identical: all %d layers with parameters are equal, bit for bit\n", compared);
    return 0;
  }
  std::stable_sort(changed.begin(), changed.end(),
                   [](const LayerDiff& x, const LayerDiff& y) { return x.max_rel > y.max_rel; });
  std::printf("%d of %d layers with parameters differ; most changed first\n\n", static_cast<int>(changed.size()),
              compared);
  std::printf("%5s  %-14s %-9s %12s %12s %18s\n", "layer", "type", "block", "max |a-b|", "max rel", "changed");
  for (const LayerDiff& diff : changed) {
    const std::string type(layer_kind_name(graph.layers[static_cast<std::size_t>(diff.index)].kind));
    for (const BlockDiff& block : diff.blocks) {
      std::printf("%5d  %-14s %-9s %12.4g %12.4g %18s\n", diff.index, type.c_str(), block.block, block.max_abs,
                  block.max_rel, cat(block.changed, "/", block.count).c_str());
    }
  }
  return 0;
}

}  // namespace

void add_diff_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<DiffArgs>();
  CLI::App* command = app.add_subcommand("diff", "Compare two weights files of one cfg, layer by layer");
  command->add_option("cfg", args->cfg, "Darknet .cfg file both files belong to")->required();
  command->add_option("a", args->a, "first .weights file")->required();
  command->add_option("b", args->b, "second .weights file")->required();
  command->callback([args, &action] { action = [args] { return run_diff(*args); }; });
}

}  // namespace dusk::cli
