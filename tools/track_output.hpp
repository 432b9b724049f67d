#pragma once
// `dusk detect --track`: the tracker, the counter and the overlay of one
// video run, and how their results are written (JSON lines, the summary).
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "detect_args.hpp"
#include "dusk/video.hpp"

namespace dusk::cli {

// The --count-line and --zone texts, checked before the source is opened.
struct CountSpecs {
  std::vector<CountLineSpec> lines;
  std::vector<ZoneSpec> zones;
  bool empty() const { return lines.empty() && zones.empty(); }
};
CountSpecs parse_count_specs(const DetectArgs& args);

class TrackingRun {
 public:
  // `fps`: frames per second the tracker sees (0: unknown, taken as 30).
  TrackingRun(const DetectArgs& args, const CountSpecs& specs, double fps, int classes);
  // Places the lines and zones on frames of this size (throws UsageError
  // naming the flag when one falls outside).
  void set_frame_size(int width, int height);
  bool sized() const { return sized_; }

  // One frame's detections in; its JSON fields out ("objects" with track_id,
  // and "events" and "zones" when counting). `detections` is replaced by the
  // tracked objects, labelled with their IDs, for printing.
  void update(std::vector<Detection>& detections, double timestamp_ms, nlohmann::ordered_json& line);
  void draw(cv::Mat& bgr);
  // "12 tracks, door: 3 in, 1 out" for the summary line.
  std::string summary() const;
  nlohmann::ordered_json totals_json() const;

 private:
  CountSpecs specs_;
  Tracker tracker_;
  std::optional<Counter> counter_;
  TrackOverlay overlay_;
  bool sized_ = false;
  std::vector<TrackedObject> last_objects_;
  std::set<std::int64_t> seen_ids_;
};

}  // namespace dusk::cli
