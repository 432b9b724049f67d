// `dusk inspect`: what a cfg builds and what a weights file holds, without
// running the network. Answers "did my weights load?" and "why is it short?".
#include <CLI/CLI.hpp>

#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

using Json = nlohmann::ordered_json;

struct InspectArgs {
  std::string cfg;
  std::string weights;
  std::string size;
  bool json = false;
};

std::string join(const std::vector<int>& values) {
  std::string out;
  for (const int v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

// Kernel, stride and the like, in a few characters.
std::string geometry(const Layer& layer) {
  switch (layer.kind) {
    case LayerKind::Convolutional: {
      const ConvSpec& s = layer.as<ConvSpec>();
      std::string text = cat(s.size, "x", s.size, "/", s.stride_x);
      if (s.stride_y != s.stride_x) text += cat("x", s.stride_y);
      if (s.groups > 1) text += cat(" g", s.groups);
      if (s.dilation > 1) text += cat(" d", s.dilation);
      return text;
    }
    case LayerKind::Maxpool:
    case LayerKind::LocalAvgpool: {
      const PoolSpec& s = layer.as<PoolSpec>();
      if (s.maxpool_depth) return "depth";
      return cat(s.size, "x", s.size, "/", s.stride_x, s.stride_y != s.stride_x ? cat("x", s.stride_y) : "");
    }
    case LayerKind::Upsample: {
      const UpsampleSpec& s = layer.as<UpsampleSpec>();
      return cat(s.downsample ? "/" : "x", s.stride);
    }
    case LayerKind::Reorg:
    case LayerKind::Reorg3d: return cat("/", layer.as<ReorgSpec>().stride, layer.as<ReorgSpec>().reverse ? " rev" : "");
    case LayerKind::Route: {
      const RouteSpec& s = layer.as<RouteSpec>();
      return cat(join(s.layers), s.groups > 1 ? cat(" ", s.group_id, "/", s.groups) : "");
    }
    case LayerKind::Shortcut: return cat("from ", join(layer.as<ShortcutSpec>().from));
    case LayerKind::Sam:
    case LayerKind::ScaleChannels: return cat("from ", layer.as<ScaleSpec>().from);
    case LayerKind::Yolo:
    case LayerKind::GaussianYolo: return cat(layer.as<YoloSpec>().classes, " cls");
    case LayerKind::Region: return cat(layer.as<RegionSpec>().classes, " cls");
    case LayerKind::Crop: return cat(layer.as<CropSpec>().width, "x", layer.as<CropSpec>().height, " centre");
    case LayerKind::Connected:
    case LayerKind::Avgpool:
    case LayerKind::Dropout:
    case LayerKind::Cost:
    case LayerKind::Softmax:
    case LayerKind::Batchnorm:
    case LayerKind::Activation:
    case LayerKind::Empty:
    case LayerKind::Count:
      return "";
  }
  return "";
}

std::string activation_of(const Layer& layer) {
  if (const auto* s = std::get_if<ConvSpec>(&layer.spec)) return std::string(activation_name(s->activation));
  if (const auto* s = std::get_if<ConnectedSpec>(&layer.spec)) return std::string(activation_name(s->activation));
  if (const auto* s = std::get_if<ShortcutSpec>(&layer.spec)) return std::string(activation_name(s->activation));
  if (const auto* s = std::get_if<ScaleSpec>(&layer.spec)) return std::string(activation_name(s->activation));
  if (const auto* s = std::get_if<ActivationSpec>(&layer.spec)) return std::string(activation_name(s->activation));
  return "";
}

std::string flags_of(const LayerStats& stats) {
  std::string flags;
  const auto add = [&](std::int64_t count, const char* what) {
    if (count > 0) flags += cat(flags.empty() ? "" : " ", count, " ", what);
  };
  add(stats.non_finite, "NaN/Inf");
  add(stats.zero_filters, "zero-filters");
  add(stats.dead_channels, "dead-channels");
  add(stats.near_zero_variances, "var~0");
  return flags;
}

std::string triple(const BlockStats& b) {
  char text[64];
  std::snprintf(text, sizeof text, "%.3g/%.3g/%.3g", static_cast<double>(b.min), static_cast<double>(b.mean),
                static_cast<double>(b.max));
  return text;
}

Json shape_json(const Shape& s) { return Json::array({s.c, s.h, s.w}); }
Json block_json(const BlockStats& b) { return Json{{"min", b.min}, {"mean", b.mean}, {"max", b.max}}; }

struct Report {
  Graph graph;
  bool has_weights = false;
  Weights weights;
  WeightsFit fit;
  std::string verdict_status;  // fits, short, trailing, no_weights
  std::string verdict;
};

Report analyse(const InspectArgs& args) {
  const Size size = parse_size(args.size);
  Report report{load_graph(args.cfg, GraphOptions{size.width, size.height}), false, {}, {}, "no_weights", ""};
  const Graph& graph = report.graph;
  if (args.weights.empty()) {
    report.verdict = cat("no weights given; the cfg needs a file of ", expected_file_bytes(graph), " bytes (",
                         graph.total_params(), " floats after a 20-byte header)");
    return report;
  }
  report.has_weights = true;
  report.weights = read_weights_partial(args.weights, graph, report.fit);
  const FitVerdict verdict = describe_fit(graph, report.fit);
  report.verdict_status = verdict.status;
  report.verdict = verdict.message;
  return report;
}

bool layer_loaded(const Report& r, const Layer& layer) {
  return r.has_weights && (r.fit.first_incomplete_layer < 0 || layer.index < r.fit.first_incomplete_layer);
}

void print_text(const Report& r, const InspectArgs& args) {
  const Graph& g = r.graph;
  std::printf("%s: input %s, %zu layers\n", g.source.c_str(), to_string(g.input).c_str(), g.layers.size());
  if (r.has_weights) {
    const WeightsHeader& h = r.weights.header;
    std::printf("%s: version %d.%d.%d, seen %" PRIu64 " images (%s-bit), connected weights %s\n", args.weights.c_str(),
                h.major, h.minor, h.revision, h.seen, h.seen_is_64bit() ? "64" : "32",
                h.transposed() ? "transposed" : "not transposed");
  }
  std::printf("\n%4s  %-14s %-12s    %-12s %-11s %-8s %10s %8s  %-21s %-20s %-20s %s\n", "#", "type", "input", "output",
              "kernel", "act", "params", "BFLOPs", "bytes", "BN scale min/mean/max", "BN var min/mean/max", "flags");
  for (const Layer& layer : g.layers) {
    std::string bytes;
    std::string scale;
    std::string variance;
    std::string flags;
    if (layer.param_count > 0 && layer_loaded(r, layer)) {
      const LayerParams& p = r.weights.layers[static_cast<std::size_t>(layer.index)];
      bytes = cat(p.offset, "..", p.offset + p.bytes);
      const LayerStats stats = layer_stats(layer, p);
      if (stats.batchnorm) {
        scale = triple(stats.scales);
        variance = triple(stats.variance);
      }
      flags = flags_of(stats);
    } else if (layer.param_count > 0 && r.has_weights) {
      bytes = "missing";
    }
    char row[512];
    std::snprintf(row, sizeof row, "%4d  %-14s %-12s -> %-12s %-11s %-8s %10" PRId64 " %8.3f  %-21s %-20s %-20s %s",
                  layer.index, std::string(layer_kind_name(layer.kind)).c_str(), to_string(layer.in).c_str(),
                  to_string(layer.out).c_str(), geometry(layer).c_str(), activation_of(layer).c_str(),
                  layer.param_count, layer.bflops, bytes.c_str(), scale.c_str(), variance.c_str(), flags.c_str());
    std::string line = row;
    line.erase(line.find_last_not_of(' ') + 1);
    std::printf("%s\n", line.c_str());
  }
  std::printf("\ntotal: %" PRId64 " parameters, %.3f BFLOPs; the weights file needs %" PRId64 " floats (%" PRIu64
              " bytes)\n",
              g.total_params(), g.total_bflops(), expected_floats(g), expected_file_bytes(g));
  std::printf("verdict: %s\n", r.verdict.c_str());
}

void print_json(const Report& r) {
  const Graph& g = r.graph;
  Json out;
  out["cfg"] = g.source;
  out["input"] = shape_json(g.input);
  if (r.has_weights) {
    const WeightsHeader& h = r.weights.header;
    out["header"] = Json{{"major", h.major}, {"minor", h.minor}, {"revision", h.revision}, {"seen", h.seen},
                         {"transposed", h.transposed()}};
  } else {
    out["header"] = nullptr;
  }
  Json layers = Json::array();
  for (const Layer& layer : g.layers) {
    Json row{{"index", layer.index},          {"type", layer_kind_name(layer.kind)},
             {"line", layer.line},            {"input", shape_json(layer.in)},
             {"output", shape_json(layer.out)}, {"geometry", geometry(layer)},
             {"activation", activation_of(layer)}, {"params", layer.param_count},
             {"bflops", layer.bflops}};
    if (const auto* conv = std::get_if<ConvSpec>(&layer.spec)) {
      row["kernel"] = Json{{"size", conv->size},         {"stride_x", conv->stride_x}, {"stride_y", conv->stride_y},
                           {"pad", conv->pad},           {"groups", conv->groups},     {"dilation", conv->dilation},
                           {"batch_normalize", conv->batch_normalize}};
    }
    if (layer.param_count > 0 && layer_loaded(r, layer)) {
      const LayerParams& p = r.weights.layers[static_cast<std::size_t>(layer.index)];
      const LayerStats stats = layer_stats(layer, p);
      row["bytes"] = Json::array({p.offset, p.offset + p.bytes});
      if (stats.batchnorm) {
        row["batchnorm"] = Json{{"scale", block_json(stats.scales)},
                                {"variance", block_json(stats.variance)},
                                {"near_zero_variances", stats.near_zero_variances}};
      }
      row["flags"] = Json{{"non_finite", stats.non_finite},
                          {"zero_filters", stats.zero_filters},
                          {"dead_channels", stats.dead_channels}};
    }
    layers.push_back(row);
  }
  out["layers"] = layers;
  out["total_params"] = g.total_params();
  out["total_bflops"] = g.total_bflops();
  out["expected_floats"] = expected_floats(g);
  out["expected_bytes"] = expected_file_bytes(g);
  if (r.has_weights) {
    out["file_bytes"] = r.fit.file_bytes;
    out["file_floats"] = (r.fit.file_bytes - r.weights.header.size_bytes()) / sizeof(float);
  } else {
    out["file_bytes"] = nullptr;
    out["file_floats"] = nullptr;
  }
  Json verdict{{"status", r.verdict_status}, {"message", r.verdict}};
  if (r.fit.first_incomplete_layer >= 0) {
    verdict["layer"] = r.fit.first_incomplete_layer;
    verdict["missing_floats"] = r.fit.missing_floats;
  }
  if (r.fit.trailing_bytes > 0) verdict["trailing_bytes"] = r.fit.trailing_bytes;
  out["verdict"] = verdict;
  out["warnings"] = g.warnings;
  std::cout << out.dump(2) << "\n";
}

int run_inspect(const InspectArgs& args) {
  const Report report = analyse(args);
  if (args.json) {
    print_json(report);
  } else {
    print_warnings(report.graph.warnings);
    print_text(report, args);
  }
  return report.verdict_status == "fits" || report.verdict_status == "no_weights" ? 0 : 1;
}

}  // namespace

void add_inspect_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* command = app.add_subcommand("inspect", "Describe a cfg and check a weights file against it");
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file to check (optional)");
  command->add_option("--size", args->size, "input size WxH for shapes and BFLOPs instead of the cfg's");
  command->add_flag("--json", args->json, "print one JSON object instead of the table");
  command->callback([args, &action] { action = [args] { return run_inspect(*args); }; });
}

}  // namespace dusk::cli
