// `dusk map`: a detector's accuracy on labeled images, printed as Darknet's
// `detector map` prints it, optionally with COCO-style AP, a JSON report and
// a precision-recall plot.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "commands.hpp"
#include "dusk/eval.hpp"
#include "eval/dataset.hpp"
#include "eval/labeled_run.hpp"
#include "map_plot.hpp"
#include "util/files.hpp"
#include "util/text.hpp"

namespace dusk::cli {

namespace {

namespace fs = std::filesystem;

// Darknet's candidate threshold and NMS overlap for map; not options there either.
constexpr float kMapCandidateThreshold = 0.005f;
constexpr float kMapNms = 0.45f;

struct MapArgs {
  std::string data;
  std::string cfg;
  std::string weights;
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
  std::int64_t max_image_pixels = kMaxImagePixels;
};

struct Dataset {
  std::vector<std::string> names;
  std::vector<LabeledImage> images;
  std::vector<std::string> unlabeled;  // images without a label file
};

std::string parent_dir(const std::string& path) { return fs::path(path).parent_path().string(); }

void note_base_dir(bool used, bool& said, const std::string& what, const std::string& base) {
  if (used && !said) {
    std::cerr << "dusk: note: " << what << " not found from the current directory; read relative to " << base << "\n";
    said = true;
  }
}

Dataset read_dataset(const MapArgs& args, int classes) {
  const DataFile data = read_data_file(args.data);
  const std::string base = parent_dir(args.data);
  bool said = false;
  bool used = false;
  if (data.classes && *data.classes != classes) {
    throw Error(cat(args.data, " says classes=", *data.classes, " but ", args.cfg, " detects ", classes,
                    " classes; fix one of them"));
  }
  if (data.names.empty()) {
    throw Error(cat(args.data, " has no names= line; add names=FILE (one class name per line)"));
  }
  Dataset dataset;
  const std::string names_path = resolve_path(data.names, base, used);
  note_base_dir(used, said, "paths in " + args.data, base);
  dataset.names = load_labels(names_path);
  if (static_cast<int>(dataset.names.size()) != classes) {
    throw Error(cat(names_path, " has ", dataset.names.size(), " names but ", args.cfg, " detects ", classes,
                    " classes; give the names file that belongs to this model"));
  }
  std::string list_path = args.list;
  if (list_path.empty()) {
    if (data.valid.empty()) {
      throw Error(cat(args.data, " has no valid= (or train=) line; add valid=LIST, or give the images with --list"));
    }
    used = false;
    list_path = resolve_path(data.valid, base, used);
    note_base_dir(used, said, "paths in " + args.data, base);
  }
  const std::vector<std::string> paths = read_image_list(list_path);
  if (paths.empty()) throw Error(cat("the image list ", list_path, " holds no images; nothing to evaluate"));
  const std::string list_base = fs::is_directory(list_path) ? std::string() : parent_dir(list_path);
  for (const std::string& listed : paths) {
    used = false;
    std::string image = resolve_path(listed, base, used);
    if (!used && !fs::exists(image) && !list_base.empty()) image = resolve_path(listed, list_base, used);
    note_base_dir(used, said, "images in " + list_path, used ? base : list_base);
    LabeledImage labeled{image, {}};
    bool found = false;
    for (const std::string& label : label_path_candidates(image)) {
      std::error_code error;
      if (fs::is_regular_file(label, error)) {
        labeled.truths = read_truths(label, classes);
        found = true;
        break;
      }
    }
    if (!found && fs::exists(image)) dataset.unlabeled.push_back(image);
    dataset.images.push_back(std::move(labeled));
  }
  return dataset;
}

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

int run_map(const MapArgs& args) {
  if (args.letterbox && args.no_letterbox) throw UsageError("--letterbox and --no-letterbox contradict each other");
  if (args.points != 0 && args.points < 2) throw UsageError(cat("--points ", args.points, ": use 0, or 2 and more (11, 101)"));
  for (const std::string& output : {args.json, args.plot}) {
    if (!output.empty()) refuse_to_overwrite(output, {args.data, args.cfg, args.weights});
  }
  const Size size = parse_size(args.size);
  Network network = load_network(args.cfg, args.weights,
                                 NetworkOptions{size.width, size.height, args.threads, parse_backend(args.backend)});
  const std::vector<int> heads = network.graph().head_layers();
  if (heads.empty()) throw Error(cat(args.cfg, " has no [yolo], [Gaussian_yolo] or [region] layer, so it cannot be evaluated"));
  const int classes = head_classes(network.graph().layers[static_cast<std::size_t>(heads.back())]);
  const Dataset dataset = read_dataset(args, classes);

  DetectorOptions options;
  options.threshold = kMapCandidateThreshold;
  options.nms = kMapNms;
  options.nms_kind = std::nullopt;  // the cfg's nms_kind, as Darknet's map applies it
  options.letterbox = args.letterbox || (network.graph().letter_box && !args.no_letterbox);
  options.max_image_pixels = args.max_image_pixels;
  const int workers = network.threads();
  const Detector detector(std::move(network), options);

  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  const auto seconds_since_start = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const auto progress = [&](std::size_t done, std::size_t total) {
    if (!terminal) return;
    const double elapsed = seconds_since_start();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
    std::fprintf(stderr, "\r[%zu/%zu] %.1f images/s, ETA %.0f s\033[K", done, total, rate, eta);
    if (done == total) std::fprintf(stderr, "\r\033[K");
  };
  const LabeledRun run = run_labeled(detector, dataset.images, workers, args.max_image_pixels, progress);
  const double elapsed = seconds_since_start();
  for (const std::string& failure : run.failures) std::cerr << "dusk: error: " << failure << "\n";
  if (run.images.empty()) throw Error("no image could be read; nothing was evaluated");

  const MapResult result = evaluate_map(run.images, classes, MapOptions{args.iou_threshold, args.points, args.threshold});
  std::optional<CocoResult> coco;
  if (args.coco) coco = evaluate_coco(run.images, classes);
  print_darknet_report(result, dataset.names);
  if (coco) print_coco(*coco);
  std::fflush(stdout);

  if (!args.json.empty()) {
    const std::string text = to_json(result, coco, dataset.names, run.images.size()).dump(1) + "\n";
    write_file_atomic(args.json, text.data(), text.size());
  }
  if (!args.plot.empty()) save_pr_plot(result, dataset.names, args.plot);
  if (!dataset.unlabeled.empty()) {
    std::cerr << "dusk: note: " << dataset.unlabeled.size()
              << " images have no label file and count as images without objects: " << listed(dataset.unlabeled)
              << "\n";
  }
  std::fprintf(stderr, "dusk: map: %zu images evaluated in %.1f s (%.1f images/s), %zu failed, %zu without labels\n",
               run.images.size(), elapsed, static_cast<double>(run.images.size()) / std::max(elapsed, 1e-9),
               run.failures.size(), dataset.unlabeled.size());
  return run.failures.empty() ? 0 : 1;
}

}  // namespace

void add_map_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<MapArgs>();
  CLI::App* command = app.add_subcommand("map", "Measure accuracy on labeled images, as Darknet's detector map does");
  command->add_option("data", args->data, "Darknet .data file (classes=, valid=, names=)")->required();
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file")->required();
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
  command->add_flag("--coco", args->coco, "also print COCO-style AP@[.50:.95], AP@.50, AP@.75 and by object size");
  command->add_option("--size", args->size, "network input size WxH instead of the cfg's");
  command->add_option("--backend", args->backend, "auto, fast (oneDNN) or ref (reference kernels)")->capture_default_str();
  command->add_option("--max-image-pixels", args->max_image_pixels, "refuse images with more pixels than this")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->callback([args, &action] { action = [args] { return run_map(*args); }; });
}

}  // namespace dusk::cli
