// ByteTrack's update step as the authors' reference code (ifzhang/ByteTrack,
// yolox/tracker/byte_tracker.py) runs it, written from its rules:
//   1. high-score detections (> high) against the confirmed and lost tracks,
//      all predicted one frame on (a lost track's height velocity zeroed),
//      cost 1 - IoU x score, limit `match`;
//   2. detections between low and high (both exclusive) against the
//      confirmed tracks still unmatched that were tracked, cost 1 - IoU,
//      limit 0.5; tracked tracks left over are lost;
//   3. unconfirmed tracks (not predicted) against the high-score detections
//      left, cost 1 - IoU x score, limit 0.7; those left over are removed;
//   4. a new track for each high-score detection left that scores at least
//      high + 0.1 (confirmed at once only on the first frame);
//   5. lost tracks unmatched for more than the buffer are removed. As in the
//      reference, a track marked removed leaves the lost list only at the
//      next frame's bookkeeping (so it can still be found once more), and
//      tracked/lost pairs closer than IoU distance 0.15 lose the younger.
#include "track/byte_track.hpp"

#include <algorithm>
#include <numeric>

#include "track/assignment.hpp"

namespace dusk::track {

namespace {

Measurement to_xyah(const Box& b) {
  const double w = b.x2 - b.x1;
  const double h = b.y2 - b.y1;
  return {b.x1 + w / 2, b.y1 + h / 2, w / h, h};
}

// The pairs of boxes that overlap at all (IoU > 0), each with cost 1 - IoU:
// every other pair costs 1, which no limit of the tracker's accepts, so the
// reference's dense matrices hold nothing more. Columns are swept in order
// of their left edge, so a frame of many boxes costs about one IoU per
// overlapping pair rather than one per pair.
std::vector<Pair> overlapping(const std::vector<Box>& rows, const std::vector<Box>& cols) {
  std::vector<Pair> pairs;
  if (rows.empty() || cols.empty()) return pairs;
  struct Column {
    Box box;
    int index;
  };
  std::vector<Column> sorted(cols.size());
  double widest = 0;
  for (std::size_t c = 0; c < cols.size(); ++c) {
    sorted[c] = {cols[c], static_cast<int>(c)};
    widest = std::max(widest, cols[c].x2 - cols[c].x1);
  }
  std::sort(sorted.begin(), sorted.end(), [](const Column& a, const Column& b) { return a.box.x1 < b.box.x1; });
  std::vector<int> row_order(rows.size());
  std::iota(row_order.begin(), row_order.end(), 0);
  std::sort(row_order.begin(), row_order.end(),
            [&](int a, int b) { return rows[static_cast<std::size_t>(a)].x1 < rows[static_cast<std::size_t>(b)].x1; });
  // Rows by left edge: the first column that can reach a row only moves right.
  std::size_t first = 0;
  for (const int r : row_order) {
    const Box& a = rows[static_cast<std::size_t>(r)];
    // Overlap needs the column's left edge within [a.x1 - 1 - its width,
    // a.x2 + 1] and its rows to meet a's; a pixel of slack for rounding.
    while (first < sorted.size() && sorted[first].box.x1 < a.x1 - 2 - widest) ++first;
    for (std::size_t k = first; k < sorted.size() && sorted[k].box.x1 <= a.x2 + 2; ++k) {
      const Column& c = sorted[k];
      if (c.box.x2 < a.x1 - 2 || c.box.y1 > a.y2 + 2 || c.box.y2 < a.y1 - 2) continue;
      const double iou = reference_iou(a, c.box);
      if (iou > 0) pairs.push_back({r, c.index, 1 - iou});
    }
  }
  return pairs;
}

// 1 - IoU x score, the fusion the reference applies outside MOT20.
void fuse_score(std::vector<Pair>& pairs, const std::vector<const Candidate*>& detections) {
  for (Pair& p : pairs) p.cost = 1 - (1 - p.cost) * detections[static_cast<std::size_t>(p.col)]->score;
}

std::vector<Box> boxes_of(const std::vector<const Candidate*>& candidates) {
  std::vector<Box> boxes;
  boxes.reserve(candidates.size());
  for (const Candidate* c : candidates) boxes.push_back(c->box);
  return boxes;
}

}  // namespace

double reference_iou(const Box& a, const Box& b) {
  const double iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1) + 1;
  if (iw <= 0) return 0;
  const double ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1) + 1;
  if (ih <= 0) return 0;
  const double area_a = (a.x2 - a.x1 + 1) * (a.y2 - a.y1 + 1);
  const double area_b = (b.x2 - b.x1 + 1) * (b.y2 - b.y1 + 1);
  return iw * ih / (area_a + area_b - iw * ih);
}

Box ByteTrack::Track::box() const {
  const double h = estimate.mean[3];
  const double w = estimate.mean[2] * h;
  const double x1 = estimate.mean[0] - w / 2;
  const double y1 = estimate.mean[1] - h / 2;
  return {x1, y1, x1 + w, y1 + h};
}

void ByteTrack::mark_removed(Track& track, std::int64_t frame) {
  track.state = State::Removed;
  if (track.removed_frame == 0) track.removed_frame = frame;
}

std::vector<Box> ByteTrack::boxes_of(const std::vector<TrackPtr>& tracks) {
  std::vector<Box> boxes;
  boxes.reserve(tracks.size());
  for (const TrackPtr& t : tracks) boxes.push_back(t->box());
  return boxes;
}

std::vector<Output> ByteTrack::update(const std::vector<Candidate>& candidates, std::int64_t frame,
                                      std::int64_t& next_id, std::vector<std::int64_t>& removed) {
  // Marks stand in for the reference's joins and subtractions by track ID:
  // a track object is one ID, and a list holds it at most once.
  std::vector<TrackPtr> listed_before = tracked_;
  listed_before.insert(listed_before.end(), lost_.begin(), lost_.end());
  std::vector<const Candidate*> high, second;
  for (const Candidate& c : candidates) {
    if (c.score > settings_.high) {
      high.push_back(&c);
    } else if (c.score > settings_.low && c.score < settings_.high) {
      second.push_back(&c);
    }
  }

  std::vector<TrackPtr> unconfirmed, pool;
  for (const TrackPtr& t : tracked_) (t->activated ? pool : unconfirmed).push_back(t);
  pool.insert(pool.end(), lost_.begin(), lost_.end());  // never also tracked
  for (const TrackPtr& t : pool) {
    if (t->state != State::Tracked) t->estimate.mean[7] = 0;
    kalman_predict(t->estimate);
  }
  std::vector<TrackPtr> activated, refound, newly_lost;
  const auto match_track = [&](const TrackPtr& t, const Candidate& c) {
    kalman_update(t->estimate, to_xyah(c.box));
    t->frame = frame;
    t->matched = c.index;
    if (t->state == State::Tracked) {
      t->activated = true;
      activated.push_back(t);
    } else {  // re-found: the reference's re_activate
      t->state = State::Tracked;
      t->activated = true;
      refound.push_back(t);
    }
  };

  // 1. High-score detections against confirmed and lost tracks.
  std::vector<Pair> pairs = overlapping(boxes_of(pool), track::boxes_of(high));
  fuse_score(pairs, high);
  const Assignment first = assign_pairs(static_cast<int>(pool.size()), static_cast<int>(high.size()), pairs, settings_.match);
  for (const auto& [r, c] : first.matches) match_track(pool[static_cast<std::size_t>(r)], *high[static_cast<std::size_t>(c)]);

  // 2. Low-score detections against what was tracked and is still unmatched.
  std::vector<TrackPtr> remaining;
  for (const int r : first.unmatched_rows) {
    if (pool[static_cast<std::size_t>(r)]->state == State::Tracked) remaining.push_back(pool[static_cast<std::size_t>(r)]);
  }
  pairs = overlapping(boxes_of(remaining), track::boxes_of(second));
  const Assignment rescue = assign_pairs(static_cast<int>(remaining.size()), static_cast<int>(second.size()), pairs, 0.5);
  for (const auto& [r, c] : rescue.matches) match_track(remaining[static_cast<std::size_t>(r)], *second[static_cast<std::size_t>(c)]);
  for (const int r : rescue.unmatched_rows) {
    Track& t = *remaining[static_cast<std::size_t>(r)];
    if (t.state != State::Lost) {
      t.state = State::Lost;
      newly_lost.push_back(remaining[static_cast<std::size_t>(r)]);
    }
  }

  // 3. Unconfirmed tracks against the high-score detections left.
  std::vector<const Candidate*> left;
  for (const int c : first.unmatched_cols) left.push_back(high[static_cast<std::size_t>(c)]);
  pairs = overlapping(boxes_of(unconfirmed), track::boxes_of(left));
  fuse_score(pairs, left);
  const Assignment confirm = assign_pairs(static_cast<int>(unconfirmed.size()), static_cast<int>(left.size()), pairs, 0.7);
  for (const auto& [r, c] : confirm.matches) match_track(unconfirmed[static_cast<std::size_t>(r)], *left[static_cast<std::size_t>(c)]);
  for (const int r : confirm.unmatched_rows) mark_removed(*unconfirmed[static_cast<std::size_t>(r)], frame);

  // 4. New tracks.
  for (const int c : confirm.unmatched_cols) {
    const Candidate& d = *left[static_cast<std::size_t>(c)];
    if (d.score < settings_.high + 0.1) continue;
    auto t = std::make_shared<Track>();
    t->id = next_id++;
    t->estimate = kalman_initiate(to_xyah(d.box));
    t->activated = frame == 1;
    t->frame = frame;
    t->start_frame = frame;
    t->matched = d.index;
    activated.push_back(std::move(t));
  }

  // 5. Lost for too long.
  for (const TrackPtr& t : lost_) {
    if (frame - t->frame > settings_.max_time_lost) mark_removed(*t, frame);
  }

  // Bookkeeping, in the reference's order: tracked = the still tracked, then
  // the activated, then the re-found, each once; lost = the lost not
  // tracked again, then the newly lost, less those removed in earlier frames.
  const std::uint64_t in_tracked = ++epoch_;
  std::vector<TrackPtr> tracked;
  const auto add_tracked = [&](const TrackPtr& t) {
    if (t->mark == in_tracked) return;
    t->mark = in_tracked;
    tracked.push_back(t);
  };
  for (const TrackPtr& t : tracked_) {
    if (t->state == State::Tracked) add_tracked(t);
  }
  for (const TrackPtr& t : activated) add_tracked(t);
  for (const TrackPtr& t : refound) add_tracked(t);
  std::vector<TrackPtr> lost;
  for (const TrackPtr& t : lost_) {
    if (t->mark != in_tracked) lost.push_back(t);
  }
  lost.insert(lost.end(), newly_lost.begin(), newly_lost.end());
  std::erase_if(lost, [&](const TrackPtr& t) { return t->removed_frame != 0 && t->removed_frame < frame; });

  // Duplicates between tracked and lost (IoU distance under 0.15): the younger goes.
  std::vector<char> drop_tracked(tracked.size(), 0), drop_lost(lost.size(), 0);
  for (const Pair& p : overlapping(boxes_of(tracked), boxes_of(lost))) {
    if (!(p.cost < 0.15)) continue;
    const Track& a = *tracked[static_cast<std::size_t>(p.row)];
    const Track& b = *lost[static_cast<std::size_t>(p.col)];
    (a.frame - a.start_frame > b.frame - b.start_frame ? drop_lost[static_cast<std::size_t>(p.col)]
                                                       : drop_tracked[static_cast<std::size_t>(p.row)]) = 1;
  }
  const std::uint64_t after = ++epoch_;
  tracked_.clear();
  for (std::size_t p = 0; p < tracked.size(); ++p) {
    if (!drop_tracked[p]) tracked_.push_back(tracked[p]);
  }
  lost_.clear();
  for (std::size_t q = 0; q < lost.size(); ++q) {
    if (!drop_lost[q]) lost_.push_back(lost[q]);
  }
  std::vector<Output> outputs;
  for (const TrackPtr& t : tracked_) {
    t->mark = after;
    if (t->activated) outputs.push_back({t->id, t->matched});
  }
  for (const TrackPtr& t : lost_) t->mark = after;
  const std::size_t first_removed = removed.size();
  for (const TrackPtr& t : listed_before) {
    if (t->mark != after) removed.push_back(t->id);  // listed before this frame, not now: gone
  }
  std::sort(removed.begin() + static_cast<std::ptrdiff_t>(first_removed), removed.end());
  return outputs;
}

}  // namespace dusk::track
