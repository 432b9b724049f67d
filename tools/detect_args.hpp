#pragma once
// What `dusk detect` was asked, shared by its image and video halves.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "dusk/dusk.hpp"

namespace dusk::cli {

struct DetectArgs {
  std::string cfg;
  std::string weights;
  std::vector<std::string> inputs;
  std::string names;
  float threshold = 0.25f;
  float nms = 0.45f;
  std::string nms_kind = "default";
  bool letterbox = false;
  std::string resize = "darknet";
  std::string tiles;
  float tile_overlap = 0.1f;
  std::string json;
  std::string out_dir;
  int threads = 0;
  std::string size;
  std::string backend = "auto";
  PrecisionFlags precision;
  std::int64_t max_image_pixels = kMaxImagePixels;
  std::int64_t max_memory_mb = kDefaultMaxActivationBytes >> 20;
  std::string jsonl;
  std::string shard;
  int batch = 1;  // images per network pass (Detector::detect_fitted of a batch)
  // Video sources only.
  std::string out_video;
  std::int64_t every = 1;
  std::string start;
  std::string end;
  std::int64_t max_frames = -1;
  bool drop_frames = false;
  bool no_drop_frames = false;
  int reconnect = 0;
  // Tracking (video sources only).
  bool track = false;
  bool threshold_given = false;  // --thresh on the command line (the tracker sets the threshold itself)
  float track_high = 0.5f;
  float track_low = 0.1f;
  float track_match = 0.8f;
  int track_buffer = 30;
  std::vector<std::string> count_lines;
  std::vector<std::string> zones;
  bool tracking_option_given = false;  // any --track-*, --count-line or --zone
};


// Darknet's -out "objects" array, six decimals as its %f writes them.
nlohmann::ordered_json objects_value(const std::vector<Detection>& detections);

// Where class names found beside the model came from: printed to stderr
// before the first detections are.
std::string& names_notice();

// Prints one image's or frame's detections like Darknet's -ext_output.
void print_detections(const std::string& what, const std::vector<Detection>& detections, double ms);

// --track, --track-high/-low/-match/-buffer, --count-line and --zone, for
// dusk detect ("video") and dusk serve ("streams").
void add_tracking_flags(CLI::App& command, DetectArgs& args, const std::string& scope);
// After parsing: which of --thresh and the tracking flags were given.
void note_given_flags(const CLI::App& command, DetectArgs& args);

// `dusk detect` on one video source; the detector is loaded.
int run_detect_video(const DetectArgs& args, const Detector& detector, int classes);

}  // namespace dusk::cli
