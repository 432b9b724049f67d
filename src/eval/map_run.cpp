// The map pipeline: dataset, detection on parallel workers, evaluation.
#include "dusk/map_run.hpp"
#include "eval/labeled_run.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "dusk/error.hpp"
#include "eval/dataset.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

namespace fs = std::filesystem;

std::string parent_dir(const std::string& path) { return fs::path(path).parent_path().string(); }

// As Darknet, from the current directory; when nothing is there, from each
// of `bases` in turn (noted once per `what`). A path found nowhere is
// returned as given and reported when it is read.
std::string locate(const std::string& path, const std::vector<std::string>& bases, const std::string& what,
                   LabeledSet& set) {
  std::error_code error;
  if (fs::path(path).is_absolute() || fs::exists(path, error)) return path;
  for (const std::string& base : bases) {
    const fs::path candidate = fs::path(base) / path;
    if (base.empty() || !fs::exists(candidate, error)) continue;
    const std::string note = cat(what, " not found from the current directory; read relative to ", base);
    if (std::find(set.notes.begin(), set.notes.end(), note) == set.notes.end()) set.notes.push_back(note);
    return candidate.string();
  }
  return path;
}

}  // namespace

LabeledSet read_labeled_set(const LabeledSource& source, const std::string& model, int classes) {
  if (source.data.empty() && (source.list.empty() || source.names.empty())) {
    throw Error({"give the labeled images as a .data file, or as an image list or directory (", Option::LabeledList,
                 ") with a names file (", Option::LabeledNames, ")"});
  }
  const DataFile data = source.data.empty() ? DataFile{} : read_data_file(source.data);
  const std::string base = source.data.empty() ? std::string() : parent_dir(source.data);
  if (data.classes && *data.classes != classes) {
    throw Error(cat(source.data, " says classes=", *data.classes, " but ", model, " detects ", classes,
                    " classes; fix one of them"));
  }
  LabeledSet set;
  std::string names_path = source.names;
  if (names_path.empty()) {
    if (data.names.empty()) {
      throw Error({cat(source.data, " has no names= line; add names=FILE (one class name per line) or give the names "
                                    "file ("),
                   Option::LabeledNames, ")"});
    }
    names_path = locate(data.names, {base}, "paths in " + source.data, set);
  }
  set.names = load_labels(names_path);
  if (static_cast<int>(set.names.size()) != classes) {
    throw Error(cat(names_path, " has ", set.names.size(), " names but ", model, " detects ", classes,
                    " classes; give the names file that belongs to this model"));
  }
  std::string list_path = source.list;
  if (list_path.empty()) {
    if (data.valid.empty()) {
      throw Error({cat(source.data, " has no valid= (or train=) line; add valid=LIST, or give the image list or "
                                    "directory ("),
                   Option::LabeledList, ")"});
    }
    list_path = locate(data.valid, {base}, "paths in " + source.data, set);
  }
  const std::vector<std::string> paths = read_image_list(list_path);
  if (paths.empty()) {
    std::error_code is_dir;
    if (fs::is_directory(list_path, is_dir)) {
      throw Error(cat("the directory ", list_path, " holds no image files", images_one_level_down(list_path)));
    }
    throw Error(cat("the image list ", list_path, " holds no images; nothing to evaluate"));
  }
  std::vector<std::string> bases;
  if (!base.empty()) bases.push_back(base);
  std::error_code error;
  if (!fs::is_directory(list_path, error) && parent_dir(list_path) != base) bases.push_back(parent_dir(list_path));
  for (const std::string& listed : paths) {
    LabeledImage labeled{locate(listed, bases, "images in " + list_path, set), {}};
    bool found = false;
    for (const std::string& label : label_path_candidates(labeled.image_path)) {
      if (fs::is_regular_file(label, error)) {
        labeled.truths = read_truths(label, classes);
        found = true;
        break;
      }
    }
    if (!found && fs::exists(labeled.image_path, error)) set.unlabeled.push_back(labeled.image_path);
    set.images.push_back(std::move(labeled));
  }
  return set;
}

MapRun run_map(Network network, const LabeledSource& source, const MapRunOptions& options,
               const std::function<void(std::size_t, std::size_t)>& progress) {
  const std::vector<int> heads = network.graph().head_layers();
  if (heads.empty()) {
    throw Error(cat(network.graph().source, " has no [yolo], [Gaussian_yolo] or [region] layer, so it cannot be evaluated"));
  }
  const int classes = network.graph().classes();
  MapRun run;
  run.set = read_labeled_set(source, network.graph().source, classes);

  DetectorOptions detector_options;
  detector_options.threshold = kMapCandidateThreshold;
  detector_options.nms = kMapNms;
  detector_options.nms_kind = std::nullopt;  // the cfg's nms_kind, as Darknet's map applies it
  run.letterbox = options.letterbox.value_or(network.graph().letter_box);
  detector_options.letterbox = run.letterbox;
  detector_options.max_image_pixels = options.max_image_pixels;
  const int workers = network.threads();
  const Detector detector(std::move(network), detector_options);

  const auto start = std::chrono::steady_clock::now();
  LabeledRun labeled = run_labeled(detector, run.set.images, workers, options.max_image_pixels, progress);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.failures = std::move(labeled.failures);
  run.evaluated = labeled.images.size();
  if (labeled.images.empty()) throw Error("no image could be read; nothing was evaluated");
  run.result = evaluate_map(labeled.images, classes, options.map);
  if (options.coco) run.coco = evaluate_coco(labeled.images, classes);
  return run;
}

}  // namespace dusk
