// `dusk map`: a detector's accuracy on labeled images, printed as Darknet's
// `detector map` prints it, optionally with COCO-style AP, a JSON report and
// a precision-recall plot.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "dusk/options.hpp"
#include "commands.hpp"
#include "dusk/eval.hpp"
#include "dusk/map_run.hpp"
#include "map_plot.hpp"
#include "progress.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {


struct MapArgs {
  std::vector<std::string> files;  // [DATA] CFG WEIGHTS
  std::string data;
  std::string cfg;
  std::string weights;
  std::string names;
  std::size_t plot_top = 0;
  int points = 0;
  float iou_threshold = 0.5f;
  float threshold = 0.25f;
  bool letterbox = false;
  bool no_letterbox = false;
  int threads = 0;
  std::string json;
  std::string plot;
  std::string list;
  bool coco = false;
  std::string size;
  std::string backend = "auto";
  PrecisionFlags precision;
  std::int64_t max_image_pixels = kMaxImagePixels;
};

// The lines Darknet prints, in its order and number formats.
void print_darknet_report(const MapResult& result, const std::vector<std::string>& names) {
  std::printf("\n detections_count = %d, unique_truth_count = %d  \n", result.detections_count,
              result.unique_truth_count);
  for (std::size_t i = 0; i < result.classes.size(); ++i) {
    const ClassAccuracy& c = result.classes[i];
    std::printf("class_id = %zu, name = %s, ap = %2.2f%%   \t (TP = %d, FP = %d) \n", i, names[i].c_str(), c.ap * 100,
                c.tp_at_threshold, c.fp_at_threshold);
  }
  const double threshold = result.options.conf_threshold;
  std::printf("\n for conf_thresh = %1.2f, precision = %1.2f, recall = %1.2f, F1-score = %1.2f \n", threshold,
              static_cast<double>(result.precision), static_cast<double>(result.recall), static_cast<double>(result.f1));
  std::printf(" for conf_thresh = %0.2f, TP = %d, FP = %d, FN = %d, average IoU = %2.2f %% \n", threshold, result.tp,
              result.fp, result.fn, static_cast<double>(result.average_iou) * 100);
  std::printf("\n IoU threshold = %2.0f %%, ", static_cast<double>(result.options.iou_threshold) * 100);
  if (result.options.points > 0) {
    std::printf("used %d Recall-points \n", result.options.points);
  } else {
    std::printf("used Area-Under-Curve for each unique Recall \n");
  }
  std::printf(" mean average precision (mAP@%0.2f) = %f, or %2.2f %% \n",
              static_cast<double>(result.options.iou_threshold), result.map, result.map * 100);
}

void print_coco(const CocoResult& coco) {
  std::printf("\n COCO-style (boxes, 101 recall points, 100 detections per image):\n");
  std::printf(" AP@[.50:.95] = %.4f, AP@.50 = %.4f, AP@.75 = %.4f\n", coco.map, coco.map50, coco.map75);
  std::printf(" AP small = %.4f, AP medium = %.4f, AP large = %.4f (-1: no truth of that size)\n", coco.map_small,
              coco.map_medium, coco.map_large);
}

nlohmann::ordered_json to_json(const MapResult& result, const std::optional<CocoResult>& coco,
                               const std::vector<std::string>& names, std::size_t image_count) {
  nlohmann::ordered_json classes = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < result.classes.size(); ++i) {
    const ClassAccuracy& c = result.classes[i];
    nlohmann::ordered_json precision = nlohmann::ordered_json::array();
    nlohmann::ordered_json recall = nlohmann::ordered_json::array();
    nlohmann::ordered_json confidence = nlohmann::ordered_json::array();
    for (const PrPoint& p : c.curve) {
      precision.push_back(p.precision);
      recall.push_back(p.recall);
      confidence.push_back(p.confidence);
    }
    nlohmann::ordered_json entry = {{"class_id", i},       {"name", names[i]},
                                    {"ap", c.ap},          {"truths", c.truths},
                                    {"detections", c.detections}, {"tp", c.tp_at_threshold},
                                    {"fp", c.fp_at_threshold}};
    if (coco) entry["coco_ap"] = coco->class_ap[i];
    entry["curve"] = {{"precision", precision}, {"recall", recall}, {"confidence", confidence}};
    classes.push_back(entry);
  }
  nlohmann::ordered_json json = {
      {"images", image_count},
      {"iou_threshold", result.options.iou_threshold},
      {"points", result.options.points},
      {"conf_threshold", result.options.conf_threshold},
      {"detections_count", result.detections_count},
      {"unique_truth_count", result.unique_truth_count},
      {"map", result.map},
      {"at_conf_threshold",
       {{"tp", result.tp}, {"fp", result.fp}, {"fn", result.fn}, {"precision", result.precision},
        {"recall", result.recall}, {"f1", result.f1}, {"average_iou", result.average_iou}}}};
  if (coco) {
    json["coco"] = {{"map", coco->map},           {"map50", coco->map50},         {"map75", coco->map75},
                    {"map_small", coco->map_small}, {"map_medium", coco->map_medium}, {"map_large", coco->map_large}};
  }
  json["classes"] = classes;
  return json;
}

std::string listed(const std::vector<std::string>& items) {
  constexpr std::size_t kShown = 5;
  std::string text;
  for (std::size_t i = 0; i < items.size() && i < kShown; ++i) text += (i ? ", " : "") + items[i];
  if (items.size() > kShown) text += cat(" and ", items.size() - kShown, " more");
  return text;
}

int run_map_command(MapArgs args) {
  if (args.files.size() == 3) {
    args.data = args.files[0];
    args.cfg = args.files[1];
    args.weights = args.files[2];
  } else {
    args.cfg = args.files[0];
    args.weights = args.files[1];
    if (args.list.empty() || args.names.empty()) {
      throw UsageError("without a .data file, give the images with --list LIST_OR_DIR and the class names with "
                       "--names FILE (dusk map --list coco128/images/val2017 --names coco.names CFG WEIGHTS)");
    }
  }
  if (args.letterbox && args.no_letterbox) throw UsageError("--letterbox and --no-letterbox contradict each other");
  if (args.points != 0 && args.points < 2) throw UsageError(cat("--points ", args.points, ": use 0, or 2 and more (11, 101)"));
  for (const std::string& output : {args.json, args.plot}) {
    if (!output.empty()) refuse_to_overwrite(output, {args.data, args.cfg, args.weights, args.names});
  }
  const Size size = parse_size(args.size);
  NetworkOptions network_options{size.width, size.height, args.threads, backend_option(args.backend)};
  apply_precision_flags(args.precision, network_options);
  Network network = load_network(args.cfg, args.weights, network_options);
  MapRunOptions options;
  options.map = MapOptions{args.iou_threshold, args.points, args.threshold};
  if (args.letterbox) options.letterbox = true;
  if (args.no_letterbox) options.letterbox = false;
  options.coco = args.coco;
  options.max_image_pixels = args.max_image_pixels;

  Progress progress("images", -1);
  const auto on_progress = [&](std::size_t done, std::size_t total) {
    progress.set_total(static_cast<std::int64_t>(total));
    progress.update(static_cast<std::int64_t>(done));
    if (done == total) progress.clear();
  };
  const MapRun run = run_map(std::move(network), LabeledSource{args.data, args.list, args.names}, options, on_progress);
  for (const std::string& note : run.set.notes) std::cerr << "dusk: note: " << note << "\n";
  for (const std::string& failure : run.failures) std::cerr << "dusk: error: " << failure << "\n";
  print_darknet_report(run.result, run.set.names);
  if (run.coco) print_coco(*run.coco);
  std::fflush(stdout);

  if (!args.json.empty()) {
    const std::string text = to_json(run.result, run.coco, run.set.names, run.evaluated).dump(1) + "\n";
    write_file_atomic(args.json, text.data(), text.size());
  }
  if (!args.plot.empty()) save_pr_plot(run.result, run.set.names, args.plot, args.plot_top);
  if (!run.set.unlabeled.empty()) {
    std::cerr << "dusk: note: " << run.set.unlabeled.size()
              << " images have no label file and count as images without objects: " << listed(run.set.unlabeled)
              << "\n";
  }
  std::fprintf(stderr, "dusk: map: %zu images evaluated in %.1f s (%.1f images/s), %zu failed, %zu without labels\n",
               run.evaluated, run.seconds, static_cast<double>(run.evaluated) / std::max(run.seconds, 1e-9),
               run.failures.size(), run.set.unlabeled.size());
  return run.failures.empty() ? 0 : 1;
}

}  // namespace

void add_map_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<MapArgs>();
  CLI::App* command = app.add_subcommand("map", "Measure accuracy on labeled images, as Darknet's detector map does");
  command->add_option("files", args->files,
                      "[DATA] CFG WEIGHTS: a Darknet .data file (classes=, valid=, names=), or none with --list and "
                      "--names; then the .cfg and .weights")
      ->expected(2, 3)
      ->required();
  command->add_option("--points", args->points, "recall points: 0 (area under the curve), 11 (VOC2007), 101 (COCO)")
      ->capture_default_str();
  command->add_option("--iou-thresh", args->iou_threshold, "IoU above which a detection matches a truth")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 1.0f));
  command->add_option("--thresh", args->threshold, "confidence for the precision/recall/F1 and TP/FP/FN lines")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 1.0f));
  command->add_flag("--letterbox", args->letterbox, "letterbox the images (default: the cfg's [net] letter_box)");
  command->add_flag("--no-letterbox", args->no_letterbox, "stretch the images even if the cfg says letter_box=1");
  command->add_option("--threads", args->threads, "threads (default: all cores); images run in parallel")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--json", args->json, "write every figure, per-class curves included, to this JSON file");
  command->add_option("--plot", args->plot, "draw the precision-recall curves into this PNG file");
  command->add_option("--list", args->list, "image list file or directory, instead of the .data file's valid=");
  command->add_option("--names", args->names, "class names file, instead of the .data file's names=");
  command->add_option("--plot-top", args->plot_top,
                      "--plot: draw only the K classes with the most truths (0: every class)")
      ->capture_default_str();
  command->add_flag("--coco", args->coco, "also print COCO-style AP@[.50:.95], AP@.50, AP@.75 and by object size");
  command->add_option("--size", args->size, "network input size WxH instead of the cfg's");
  command->add_option("--backend", args->backend, "auto, fast (oneDNN) or ref (reference kernels)")->capture_default_str();
  add_precision_flags(*command, args->precision);
  command->add_option("--max-image-pixels", args->max_image_pixels, "refuse images with more pixels than this")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->callback([args, &action] { action = [args] { return run_map_command(*args); }; });
}

}  // namespace dusk::cli
