#pragma once
// Multi-object tracking: ByteTrack (Zhang et al., ECCV 2022) as its authors'
// reference code runs it, one tracker per class, IDs unique across classes.
//
// Feed Tracker::update() one frame's detections (what Detector::detect()
// returns with threshold = TrackerOptions::low) and it returns the objects
// of the confirmed tracks matched in that frame, each with its track ID and
// the detection it matched. Applications with their own detector or frame
// loop use it directly; `dusk detect --track` and the Python and C shells
// use the same class.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "dusk/detector.hpp"

namespace dusk {

struct TrackerOptions {
  float high = 0.5f;    // detections scoring above this are associated first (ByteTrack's track_thresh)
  float low = 0.1f;     // detections scoring above this (and not above `high`) rescue tracked tracks second
  float match = 0.8f;   // cost limit of the first association (1 - IoU x score)
  int buffer = 30;      // frames a lost track is kept, counted at 30 frames/s
  double fps = 30;      // the source's frame rate: the buffer becomes int(fps / 30 * buffer) frames
};

// Throws dusk::Error (option identifiers TrackerOptions::high, ...) for
// values out of range: 0 <= low <= high < 1, 0 < match <= 1, buffer >= 0,
// fps > 0.
void check_tracker_options(const TrackerOptions& options);

struct TrackedObject {
  std::int64_t track_id = 0;   // from 1, unique across classes
  Detection detection;         // the detection the track matched in this frame
  std::size_t detection_index = 0;  // its position in the list given to update()
};

class Tracker {
 public:
  explicit Tracker(TrackerOptions options = {});
  ~Tracker();
  Tracker(Tracker&&) noexcept;
  Tracker& operator=(Tracker&&) noexcept;

  // One frame. Returns the confirmed tracks matched in it (on the first
  // frame every new track counts as confirmed, as in the reference), by
  // class, then in the tracker's own order. Detections whose box has no
  // width or height cannot be tracked and are ignored.
  std::vector<TrackedObject> update(const std::vector<Detection>& detections);

  // Tracks dropped for good during the last update() (lost for longer than
  // the buffer, duplicates of another track, or never confirmed).
  const std::vector<std::int64_t>& removed() const;
  std::int64_t frames() const;  // update() calls so far
  const TrackerOptions& options() const;
  int buffer_frames() const;     // the buffer in frames at the options' fps

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The minimum-cost matching of rows to columns in which no pair costs more
// than `limit`: what ByteTrack gets from LAPJV with cost_limit (the matrix
// extended with limit / 2 for leaving a row or column unmatched). `cost` is
// rows x cols, row-major.
struct Assignment {
  std::vector<std::pair<int, int>> matches;  // (row, col), rows ascending
  std::vector<int> unmatched_rows;           // ascending
  std::vector<int> unmatched_cols;           // ascending
};
Assignment linear_assignment(const std::vector<double>& cost, int rows, int cols, double limit);

}  // namespace dusk
