#pragma once
// ByteTrack for one class: the reference's update step, rule for rule.
#include <cstdint>
#include <memory>
#include <vector>

#include "track/kalman.hpp"

namespace dusk::track {

struct Box {  // corners in pixels: left, top, right, bottom
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

struct Candidate {
  Box box;
  double score = 0;
  std::size_t index = 0;  // the caller's position of this detection
};

struct Output {
  std::int64_t track_id = 0;
  std::size_t index = 0;  // the candidate it matched in this frame
};

struct Settings {
  double high = 0.5;
  double low = 0.1;
  double match = 0.8;
  std::int64_t max_time_lost = 30;
};

// IoU as the reference's bbox_overlaps computes it: pixel-inclusive sizes
// (x2 - x1 + 1).
double reference_iou(const Box& a, const Box& b);

class ByteTrack {
 public:
  explicit ByteTrack(Settings settings) : settings_(settings) {}
  // `frame` counts from 1 (frame 1 confirms new tracks at once); `next_id`
  // is shared by every class's tracker. Appends the tracks dropped for good
  // to `removed`.
  std::vector<Output> update(const std::vector<Candidate>& candidates, std::int64_t frame, std::int64_t& next_id,
                             std::vector<std::int64_t>& removed);
  bool empty() const { return tracked_.empty() && lost_.empty(); }

 private:
  enum class State { Tracked, Lost, Removed };
  struct Track {
    std::int64_t id = 0;
    Gaussian estimate;
    State state = State::Tracked;
    bool activated = false;
    std::int64_t frame = 0;        // last frame it was matched in
    std::int64_t start_frame = 0;
    std::int64_t removed_frame = 0;  // first frame it was marked removed; 0: never
    std::size_t matched = 0;       // the candidate matched in the current frame
    std::uint64_t mark = 0;        // bookkeeping stamp (see update)
    Box box() const;
  };
  using TrackPtr = std::shared_ptr<Track>;

  static std::vector<Box> boxes_of(const std::vector<TrackPtr>& tracks);

  static void mark_removed(Track& track, std::int64_t frame);

  Settings settings_;
  std::vector<TrackPtr> tracked_;  // matched in the last frame (confirmed or not)
  std::vector<TrackPtr> lost_;
  std::uint64_t epoch_ = 0;
};

}  // namespace dusk::track
