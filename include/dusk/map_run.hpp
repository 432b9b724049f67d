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

namespace dusk {

struct LabeledSet {
  std::vector<std::string> names;     // from the .data file's names=, one per class
  std::vector<LabeledImage> images;   // with their truths, read up front
  std::vector<std::string> unlabeled; // images without a label file (no objects)
  std::vector<std::string> notes;     // e.g. paths read relative to the .data file
};

// Where the labeled images are: a .data file (classes=, valid=, names=),
// or the image list and names given directly; `list` and `names`, when
// given, take the place of the .data file's valid= and names=.
struct LabeledSource {
  std::string data;   // may be empty when list and names are given
  std::string list;   // an image list file, or a directory of images
  std::string names;  // a .names file
};

// Reads the names, the image list and every label. Errors (missing
// valid=/names=, counts that do not fit `classes`, bad label lines) name the
// file and what to do.
LabeledSet read_labeled_set(const LabeledSource& source, const std::string& model, int classes);

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

MapRun run_map(Network network, const LabeledSource& source, const MapRunOptions& options,
               const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace dusk
