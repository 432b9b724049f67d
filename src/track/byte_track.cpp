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
#include <unordered_set>

#include "dusk/track.hpp"

namespace dusk::track {

namespace {

Measurement to_xyah(const Box& b) {
  const double w = b.x2 - b.x1;
  const double h = b.y2 - b.y1;
  return {b.x1 + w / 2, b.y1 + h / 2, w / h, h};
}

template <typename Rows, typename Cols, typename RowBox, typename ColBox>
std::vector<double> iou_distance(const Rows& rows, const Cols& cols, RowBox row_box, ColBox col_box) {
  std::vector<double> cost(rows.size() * cols.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Box a = row_box(rows[r]);
    for (std::size_t c = 0; c < cols.size(); ++c) cost[r * cols.size() + c] = 1 - reference_iou(a, col_box(cols[c]));
  }
  return cost;
}

// 1 - IoU x score, the fusion the reference applies outside MOT20.
void fuse_score(std::vector<double>& cost, std::size_t cols, const std::vector<const Candidate*>& detections) {
  for (std::size_t i = 0; i < cost.size(); ++i) cost[i] = 1 - (1 - cost[i]) * detections[i % cols]->score;
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

std::vector<Output> ByteTrack::update(const std::vector<Candidate>& candidates, std::int64_t frame,
                                      std::int64_t& next_id, std::vector<std::int64_t>& removed) {
  std::unordered_set<std::int64_t> before;
  for (const auto* list : {&tracked_, &lost_}) {
    for (const TrackPtr& t : *list) before.insert(t->id);
  }
  std::vector<const Candidate*> high, second;
  for (const Candidate& c : candidates) {
    if (c.score > settings_.high) {
      high.push_back(&c);
    } else if (c.score > settings_.low && c.score < settings_.high) {
      second.push_back(&c);
    }
  }
  const auto track_box = [](const TrackPtr& t) { return t->box(); };
  const auto candidate_box = [](const Candidate* c) { return c->box; };

  std::vector<TrackPtr> unconfirmed, pool;
  for (const TrackPtr& t : tracked_) (t->activated ? pool : unconfirmed).push_back(t);
  for (const TrackPtr& t : lost_) {  // joined by ID: a lost track is never also tracked
    if (std::none_of(pool.begin(), pool.end(), [&](const TrackPtr& p) { return p->id == t->id; })) pool.push_back(t);
  }
  for (const TrackPtr& t : pool) {
    if (t->state != State::Tracked) t->estimate.mean[7] = 0;
    kalman_predict(t->estimate);
  }
  std::vector<TrackPtr> activated, refound, newly_lost;
  const auto match_track = [&](const TrackPtr& t, const Candidate& c) {
    const Measurement z = to_xyah(c.box);
    kalman_update(t->estimate, z);
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
  std::vector<double> cost = iou_distance(pool, high, track_box, candidate_box);
  fuse_score(cost, high.size(), high);
  const Assignment first = linear_assignment(cost, static_cast<int>(pool.size()), static_cast<int>(high.size()), settings_.match);
  for (const auto& [r, c] : first.matches) match_track(pool[static_cast<std::size_t>(r)], *high[static_cast<std::size_t>(c)]);

  // 2. Low-score detections against what was tracked and is still unmatched.
  std::vector<TrackPtr> remaining;
  for (const int r : first.unmatched_rows) {
    if (pool[static_cast<std::size_t>(r)]->state == State::Tracked) remaining.push_back(pool[static_cast<std::size_t>(r)]);
  }
  cost = iou_distance(remaining, second, track_box, candidate_box);
  const Assignment rescue = linear_assignment(cost, static_cast<int>(remaining.size()), static_cast<int>(second.size()), 0.5);
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
  cost = iou_distance(unconfirmed, left, track_box, candidate_box);
  fuse_score(cost, left.size(), left);
  const Assignment confirm = linear_assignment(cost, static_cast<int>(unconfirmed.size()), static_cast<int>(left.size()), 0.7);
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

  // Bookkeeping, in the reference's order.
  std::vector<TrackPtr> tracked;
  const auto join = [&](const std::vector<TrackPtr>& add) {
    for (const TrackPtr& t : add) {
      if (std::none_of(tracked.begin(), tracked.end(), [&](const TrackPtr& p) { return p->id == t->id; })) tracked.push_back(t);
    }
  };
  for (const TrackPtr& t : tracked_) {
    if (t->state == State::Tracked) tracked.push_back(t);
  }
  join(activated);
  join(refound);
  std::vector<TrackPtr> lost;
  for (const TrackPtr& t : lost_) {
    if (std::none_of(tracked.begin(), tracked.end(), [&](const TrackPtr& p) { return p->id == t->id; })) lost.push_back(t);
  }
  lost.insert(lost.end(), newly_lost.begin(), newly_lost.end());
  // The reference subtracts the tracks removed in earlier frames only.
  std::erase_if(lost, [&](const TrackPtr& t) { return t->removed_frame != 0 && t->removed_frame < frame; });

  // Duplicates between tracked and lost: the younger goes.
  const std::vector<double> overlap = iou_distance(tracked, lost, track_box, track_box);
  std::vector<char> drop_tracked(tracked.size(), 0), drop_lost(lost.size(), 0);
  for (std::size_t p = 0; p < tracked.size(); ++p) {
    for (std::size_t q = 0; q < lost.size(); ++q) {
      if (overlap[p * lost.size() + q] >= 0.15) continue;
      const std::int64_t age_p = tracked[p]->frame - tracked[p]->start_frame;
      const std::int64_t age_q = lost[q]->frame - lost[q]->start_frame;
      (age_p > age_q ? drop_lost[q] : drop_tracked[p]) = 1;
    }
  }
  tracked_.clear();
  for (std::size_t p = 0; p < tracked.size(); ++p) {
    if (!drop_tracked[p]) tracked_.push_back(tracked[p]);
  }
  lost_.clear();
  for (std::size_t q = 0; q < lost.size(); ++q) {
    if (!drop_lost[q]) lost_.push_back(lost[q]);
  }

  std::unordered_set<std::int64_t> after;
  std::vector<Output> outputs;
  for (const TrackPtr& t : tracked_) {
    after.insert(t->id);
    if (t->activated) outputs.push_back({t->id, t->matched});
  }
  for (const TrackPtr& t : lost_) after.insert(t->id);
  const std::size_t first_removed = removed.size();
  for (const std::int64_t id : before) {
    if (!after.count(id)) removed.push_back(id);
  }
  std::sort(removed.begin() + static_cast<std::ptrdiff_t>(first_removed), removed.end());
  return outputs;
}

}  // namespace dusk::track
