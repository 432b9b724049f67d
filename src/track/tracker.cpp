// The public Tracker: one ByteTrack per class (a track never changes class)
// sharing one ID counter, fed with dusk's detections.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>
#include <cmath>
#include <map>

#include "dusk/error.hpp"
#include "dusk/track.hpp"
#include "track/byte_track.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

// The double a person means by a float option: 0.6f is 0.6000000238, and a
// score of exactly 0.6f must compare above a threshold of 0.6 as it does in
// the reference (Python floats), so thresholds go through their shortest
// decimal spelling.
double decimal(float value) {
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof text, value);
  if (error != std::errc()) return value;
  return std::strtod(std::string(text, end).c_str(), nullptr);
}

}  // namespace

void check_tracker_options(const TrackerOptions& o) {
  const auto in_unit = [](float v) { return std::isfinite(v) && v >= 0 && v < 1; };
  if (!in_unit(o.low) || !in_unit(o.high) || o.low > o.high) {
    throw Error(cat("tracker thresholds low ", o.low, " and high ", o.high,
                    " must satisfy 0 <= low <= high < 1 (TrackerOptions::low and high)"));
  }
  if (!std::isfinite(o.match) || o.match <= 0 || o.match > 1) {
    throw Error(cat("tracker match limit ", o.match, " must be above 0 and at most 1 (TrackerOptions::match)"));
  }
  if (o.buffer < 0) throw Error(cat("tracker buffer ", o.buffer, " must be 0 or more frames (TrackerOptions::buffer)"));
  if (!std::isfinite(o.fps) || o.fps <= 0 || o.fps > 10000) {
    throw Error(cat("tracker frame rate ", o.fps, " must be above 0 and at most 10000 (TrackerOptions::fps)"));
  }
}

struct Tracker::Impl {
  TrackerOptions options;
  track::Settings settings;
  std::map<int, track::ByteTrack> by_class;
  std::int64_t frames = 0;
  std::int64_t next_id = 1;
  std::vector<std::int64_t> removed;
};

Tracker::Tracker(TrackerOptions options) : impl_(std::make_unique<Impl>()) {
  check_tracker_options(options);
  impl_->options = options;
  // The reference: int(frame_rate / 30.0 * track_buffer).
  impl_->settings = {decimal(options.high), decimal(options.low), decimal(options.match),
                     static_cast<std::int64_t>(options.fps / 30.0 * static_cast<double>(options.buffer))};
}

Tracker::~Tracker() = default;
Tracker::Tracker(Tracker&&) noexcept = default;
Tracker& Tracker::operator=(Tracker&&) noexcept = default;

std::vector<TrackedObject> Tracker::update(const std::vector<Detection>& detections) {
  Impl& s = *impl_;
  ++s.frames;
  s.removed.clear();
  std::map<int, std::vector<track::Candidate>> by_class;
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const Detection& d = detections[i];
    if (!(d.box.width > 0) || !(d.box.height > 0) || !std::isfinite(d.box.left) || !std::isfinite(d.box.top)) continue;
    const double x1 = d.box.left;
    const double y1 = d.box.top;
    by_class[d.class_id].push_back({{x1, y1, x1 + d.box.width, y1 + d.box.height}, d.confidence, i});
  }
  // Every class's tracker sees every frame (its frame count is the video's).
  for (auto& [class_id, candidates] : by_class) s.by_class.try_emplace(class_id, s.settings);
  std::vector<TrackedObject> result;
  static const std::vector<track::Candidate> kNone;
  for (auto it = s.by_class.begin(); it != s.by_class.end();) {
    const auto found = by_class.find(it->first);
    const std::vector<track::Candidate>& candidates = found == by_class.end() ? kNone : found->second;
    for (const track::Output& out : it->second.update(candidates, s.frames, s.next_id, s.removed)) {
      result.push_back({out.track_id, detections[out.index], out.index});
    }
    it = it->second.empty() ? s.by_class.erase(it) : std::next(it);
  }
  std::sort(s.removed.begin(), s.removed.end());
  return result;
}

const std::vector<std::int64_t>& Tracker::removed() const { return impl_->removed; }
std::int64_t Tracker::frames() const { return impl_->frames; }
const TrackerOptions& Tracker::options() const { return impl_->options; }
int Tracker::buffer_frames() const { return static_cast<int>(impl_->settings.max_time_lost); }

}  // namespace dusk
