#pragma once
// `detector map` end to end: a .data file's labeled images through a network,
// then Darknet's (and optionally COCO's) accuracy figures. Used by the CLI
// and the Python package.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dusk/eval.hpp"
#include "dusk/network.hpp"
#include "eval/labeled_run.hpp"

namespace dusk {

struct LabeledSet {
  std::vector<std::string> names;     // from the .data file's names=, one per class
  std::vector<LabeledImage> images;   // with their truths, read up front
  std::vector<std::string> unlabeled; // images without a label file (no objects)
  std::vector<std::string> notes;     // e.g. paths read relative to the .data file
};

// Reads the .data file, its names and image list (or `list_override`, a list
// file or a directory) and every label. Errors (missing valid=/names=, counts
// that do not fit `classes`, bad label lines) name the file and what to do.
LabeledSet read_labeled_set(const std::string& data_path, const std::string& list_override, const std::string& model,
                            int classes);

struct MapRunOptions {
  MapOptions map;
  std::optional<bool> letterbox;  // nullopt: the cfg's [net] letter_box, as Darknet
  bool coco = false;
  std::int64_t max_image_pixels = kMaxImagePixels;
};

struct MapRun {
  MapResult result;
  std::optional<CocoResult> coco;
  LabeledSet set;
  std::vector<std::string> failures;  // images that could not be read
  std::size_t evaluated = 0;
  double seconds = 0;
  bool letterbox = false;
};

// Darknet's candidate threshold and NMS overlap for map (not options in Darknet either).
inline constexpr float kMapCandidateThreshold = 0.005f;
inline constexpr float kMapNms = 0.45f;

MapRun run_map(Network network, const std::string& data_path, const std::string& list_override,
               const MapRunOptions& options, const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace dusk
