// Tracking and counting against ground truth built here: objects moving at
// constant velocity, crossing paths, occlusion gaps shorter and longer than
// the buffer, a weak frame rescued by the second association; the Kalman
// filter against its textbook form with a general matrix inverse; the
// assignment against every possible matching of small matrices; line
// crossings and zone dwell times counted exactly; bad geometry refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "dusk/counting.hpp"
#include "dusk/error.hpp"
#include "dusk/track.hpp"
#include "track/byte_track.hpp"
#include "track/kalman.hpp"

using namespace dusk;

namespace {

Detection box(float left, float top, float width, float height, float confidence = 0.9f, int class_id = 0) {
  Detection d;
  d.class_id = class_id;
  d.label = std::to_string(class_id);
  d.confidence = confidence;
  d.box = {left, top, width, height};
  return d;
}

// track id of the object whose detection was number `index` in the frame; 0 if none.
std::int64_t id_of(const std::vector<TrackedObject>& objects, std::size_t index) {
  for (const TrackedObject& o : objects) {
    if (o.detection_index == index) return o.track_id;
  }
  return 0;
}

// ---- Kalman oracle: the textbook equations on general matrices ----
using Matrix = std::vector<std::vector<double>>;
Matrix zeros(std::size_t r, std::size_t c) { return Matrix(r, std::vector<double>(c, 0.0)); }
Matrix mul(const Matrix& a, const Matrix& b) {
  Matrix m = zeros(a.size(), b[0].size());
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < b.size(); ++k)
      for (std::size_t j = 0; j < b[0].size(); ++j) m[i][j] += a[i][k] * b[k][j];
  return m;
}
Matrix transpose(const Matrix& a) {
  Matrix m = zeros(a[0].size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a[0].size(); ++j) m[j][i] = a[i][j];
  return m;
}
Matrix inverse(Matrix a) {  // Gauss-Jordan with partial pivoting
  const std::size_t n = a.size();
  Matrix inv = zeros(n, n);
  for (std::size_t i = 0; i < n; ++i) inv[i][i] = 1;
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t pivot = c;
    for (std::size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    std::swap(a[c], a[pivot]);
    std::swap(inv[c], inv[pivot]);
    const double p = a[c][c];
    for (std::size_t j = 0; j < n; ++j) a[c][j] /= p, inv[c][j] /= p;
    for (std::size_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r][c];
      for (std::size_t j = 0; j < n; ++j) a[r][j] -= f * a[c][j], inv[r][j] -= f * inv[c][j];
    }
  }
  return inv;
}
Matrix cov_matrix(const track::Covariance& c) {
  Matrix m = zeros(8, 8);
  for (std::size_t i = 0; i < 64; ++i) m[i / 8][i % 8] = c[i];
  return m;
}

}  // namespace

TEST_CASE("kalman filter: predict and update equal the textbook equations") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-5, 5);
  track::Gaussian g = track::kalman_initiate({320, 240, 0.5, 120});
  CHECK(g.mean[3] == 120);
  CHECK(g.covariance()[0] == doctest::Approx(std::pow(2.0 / 20 * 120, 2)));
  CHECK(g.covariance()[2 * 8 + 2] == doctest::Approx(1e-4));
  CHECK(g.covariance()[4 * 8 + 4] == doctest::Approx(std::pow(10.0 / 160 * 120, 2)));
  Matrix f = zeros(8, 8), h = zeros(4, 8);
  for (std::size_t i = 0; i < 8; ++i) f[i][i] = 1;
  for (std::size_t i = 0; i < 4; ++i) f[i][i + 4] = 1, h[i][i] = 1;
  for (int step = 0; step < 20; ++step) {
    // predict
    Matrix mean = zeros(8, 1);
    for (std::size_t i = 0; i < 8; ++i) mean[i][0] = g.mean[i];
    const double ht = g.mean[3];
    Matrix q = zeros(8, 8);
    const double qs[8] = {ht / 20, ht / 20, 1e-2, ht / 20, ht / 160, ht / 160, 1e-5, ht / 160};
    for (std::size_t i = 0; i < 8; ++i) q[i][i] = qs[i] * qs[i];
    Matrix p = mul(mul(f, cov_matrix(g.covariance())), transpose(f));
    for (std::size_t i = 0; i < 8; ++i) p[i][i] += q[i][i];
    mean = mul(f, mean);
    track::kalman_predict(g);
    for (std::size_t i = 0; i < 8; ++i) CHECK(g.mean[i] == doctest::Approx(mean[i][0]).epsilon(1e-12));
    for (std::size_t i = 0; i < 64; ++i) CHECK(g.covariance()[i] == doctest::Approx(p[i / 8][i % 8]).epsilon(1e-10));
    // update
    const track::Measurement z = {g.mean[0] + u(rng), g.mean[1] + u(rng), 0.5 + u(rng) / 100, g.mean[3] + u(rng)};
    const double hh = g.mean[3];
    Matrix s = mul(mul(h, p), transpose(h));
    const double rs[4] = {hh / 20, hh / 20, 1e-1, hh / 20};
    for (std::size_t i = 0; i < 4; ++i) s[i][i] += rs[i] * rs[i];
    const Matrix k = mul(mul(p, transpose(h)), inverse(s));
    Matrix innovation = zeros(4, 1);
    for (std::size_t i = 0; i < 4; ++i) innovation[i][0] = z[i] - mean[i][0];
    const Matrix correction = mul(k, innovation);
    const Matrix kskt = mul(mul(k, s), transpose(k));
    track::kalman_update(g, z);
    for (std::size_t i = 0; i < 8; ++i) CHECK(g.mean[i] == doctest::Approx(mean[i][0] + correction[i][0]).epsilon(1e-10));
    for (std::size_t i = 0; i < 64; ++i) {
      CHECK(g.covariance()[i] == doctest::Approx(p[i / 8][i % 8] - kskt[i / 8][i % 8]).epsilon(1e-8).scale(1e-6));
    }
  }
}

TEST_CASE("reference IoU counts pixels inclusively, as bbox_overlaps does") {
  // 10x10 boxes (0..9 inclusive -> 10 pixels each side), overlapping 5 columns.
  const track::Box a{0, 0, 9, 9}, b{5, 0, 14, 9};
  CHECK(track::reference_iou(a, b) == doctest::Approx(50.0 / 150.0));
  CHECK(track::reference_iou(a, a) == 1.0);
  CHECK(track::reference_iou(a, {10, 0, 19, 9}) == 0.0);
  // Touching edges overlap by one pixel column in this convention.
  CHECK(track::reference_iou(a, {9, 0, 18, 9}) == doctest::Approx(10.0 / 190.0));
}

namespace {

// Every matching of rows to columns with all pairs under the limit: the best
// sum of (cost - limit), the quantity LAPJV's extension minimises.
double best_by_enumeration(const std::vector<double>& cost, int rows, int cols, double limit, int row,
                           std::vector<char>& used) {
  if (row == rows) return 0;
  double best = best_by_enumeration(cost, rows, cols, limit, row + 1, used);  // row unmatched
  for (int c = 0; c < cols; ++c) {
    const double v = cost[static_cast<std::size_t>(row * cols + c)];
    if (used[static_cast<std::size_t>(c)] || !(v < limit)) continue;
    used[static_cast<std::size_t>(c)] = 1;
    best = std::min(best, v - limit + best_by_enumeration(cost, rows, cols, limit, row + 1, used));
    used[static_cast<std::size_t>(c)] = 0;
  }
  return best;
}

}  // namespace

TEST_CASE("linear assignment: optimal against every matching of small matrices, ties and limits included") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 600; ++trial) {
    const int rows = static_cast<int>(rng() % 7);
    const int cols = static_cast<int>(rng() % 7);
    const bool ties = trial % 3 == 0;  // costs from a few values: many equal sums
    std::vector<double> cost(static_cast<std::size_t>(rows * cols));
    for (double& v : cost) v = ties ? static_cast<double>(rng() % 4) / 4.0 : std::uniform_real_distribution<double>(0, 1.2)(rng);
    const double limit = trial % 5 == 0 ? 2.0 : std::uniform_real_distribution<double>(0.2, 1.0)(rng);
    const Assignment a = linear_assignment(cost, rows, cols, limit);
    std::vector<char> used(static_cast<std::size_t>(cols), 0);
    const double best = best_by_enumeration(cost, rows, cols, limit, 0, used);
    double got = 0;
    std::set<int> seen_rows, seen_cols;
    for (const auto& [r, c] : a.matches) {
      CHECK(cost[static_cast<std::size_t>(r * cols + c)] < limit);
      got += cost[static_cast<std::size_t>(r * cols + c)] - limit;
      CHECK(seen_rows.insert(r).second);
      CHECK(seen_cols.insert(c).second);
    }
    CHECK(got == doctest::Approx(best).epsilon(1e-12));
    CHECK(a.matches.size() + a.unmatched_rows.size() == static_cast<std::size_t>(rows));
    CHECK(a.matches.size() + a.unmatched_cols.size() == static_cast<std::size_t>(cols));
    CHECK(std::is_sorted(a.unmatched_rows.begin(), a.unmatched_rows.end()));
    CHECK(std::is_sorted(a.unmatched_cols.begin(), a.unmatched_cols.end()));
  }
  CHECK_THROWS_AS(linear_assignment({1, 2, 3}, 2, 2, 1), Error);
}

TEST_CASE("tracker: objects at constant velocity keep their IDs; IDs start at 1") {
  Tracker tracker;
  for (int f = 0; f < 60; ++f) {
    const std::vector<Detection> frame = {box(10.0f + 3 * f, 50, 40, 80), box(400.0f - 2 * f, 300, 50, 100),
                                          box(200, 10.0f + 4 * f, 30, 60)};
    const auto objects = tracker.update(frame);
    REQUIRE(objects.size() == 3);  // confirmed on the first frame of the video
    CHECK(id_of(objects, 0) == 1);
    CHECK(id_of(objects, 1) == 2);
    CHECK(id_of(objects, 2) == 3);
    for (const TrackedObject& o : objects) CHECK(o.detection.box.left == frame[o.detection_index].box.left);
  }
  CHECK(tracker.frames() == 60);
}

TEST_CASE("tracker: two objects crossing paths keep their IDs") {
  Tracker tracker;
  std::int64_t a_id = 0, b_id = 0;
  for (int f = 0; f < 50; ++f) {
    // A moves right, B moves left, overlapping in the middle frames.
    const std::vector<Detection> frame = {box(20.0f + 8 * f, 100, 40, 90), box(420.0f - 8 * f, 130, 40, 90)};
    const auto objects = tracker.update(frame);
    REQUIRE(objects.size() == 2);
    if (f == 0) {
      a_id = id_of(objects, 0);
      b_id = id_of(objects, 1);
    }
    CHECK(id_of(objects, 0) == a_id);
    CHECK(id_of(objects, 1) == b_id);
  }
}

TEST_CASE("tracker: an occlusion shorter than the buffer keeps the ID, a longer one gives a new ID") {
  for (const int gap : {10, 29, 45}) {
    CAPTURE(gap);
    TrackerOptions options;
    options.buffer = 30;
    Tracker tracker(options);
    std::int64_t first_id = 0;
    int f = 0;
    for (; f < 20; ++f) first_id = id_of(tracker.update({box(10.0f + 5 * f, 100, 40, 80)}), 0);
    for (int g = 0; g < gap; ++g, ++f) CHECK(tracker.update({}).empty());
    // Back where constant velocity puts it.
    const auto back = tracker.update({box(10.0f + 5 * f, 100, 40, 80)});
    ++f;
    if (gap <= 30) {
      REQUIRE(back.size() == 1);
      CHECK(back[0].track_id == first_id);  // re-found at once, same ID
    } else {
      CHECK(back.empty());  // a new track: unconfirmed on its first frame
      const auto next = tracker.update({box(10.0f + 5 * f, 100, 40, 80)});
      REQUIRE(next.size() == 1);
      CHECK(next[0].track_id == first_id + 1);
    }
  }
}

TEST_CASE("tracker: the buffer scales with the frame rate, as the reference's int(fps / 30 * buffer)") {
  TrackerOptions options;
  options.fps = 25;
  CHECK(Tracker(options).buffer_frames() == 25);
  options.fps = 60;
  CHECK(Tracker(options).buffer_frames() == 60);
  options.fps = 29.97;
  CHECK(Tracker(options).buffer_frames() == 29);
}

TEST_CASE("tracker: a low-score frame is rescued by the second association") {
  for (const float weak : {0.3f, 0.05f}) {
    CAPTURE(weak);
    Tracker tracker;
    for (int f = 0; f < 10; ++f) tracker.update({box(10.0f + 5 * f, 100, 40, 80)});
    const auto objects = tracker.update({box(60, 100, 40, 80, weak)});
    if (weak > 0.1f) {
      REQUIRE(objects.size() == 1);  // between low and high: matched to the tracked track
      CHECK(objects[0].track_id == 1);
      CHECK(objects[0].detection.confidence == weak);
    } else {
      CHECK(objects.empty());  // below low: not a candidate at all
    }
    const auto after = tracker.update({box(65, 100, 40, 80)});
    REQUIRE(after.size() == 1);
    CHECK(after[0].track_id == 1);
  }
}

TEST_CASE("tracker: thresholds compare as the decimals written, as the reference's Python floats do") {
  // A score of exactly 0.6f (0.6000000238) is above a high threshold of 0.6
  // in the reference; as floats the two would be equal and the box dropped.
  TrackerOptions options;
  options.high = 0.6f;
  Tracker tracker(options);
  tracker.update({box(10, 10, 40, 40, 0.9f)});
  const auto objects = tracker.update({box(12, 10, 40, 40, 0.6f)});
  REQUIRE(objects.size() == 1);  // matched in the first association (not dropped between the two)
  CHECK(objects[0].track_id == 1);
}

TEST_CASE("tracker: new tracks need high + 0.1 and a second frame, except on the first frame") {
  Tracker tracker;
  CHECK(tracker.update({box(10, 10, 40, 40, 0.55f)}).empty());  // above high, below high + 0.1: no track
  CHECK(tracker.update({box(10, 10, 40, 40, 0.55f)}).empty());
  CHECK(tracker.update({box(10, 10, 40, 40, 0.65f)}).empty());  // a new track, not yet confirmed
  const auto confirmed = tracker.update({box(11, 10, 40, 40, 0.65f)});
  REQUIRE(confirmed.size() == 1);
  CHECK(confirmed[0].track_id == 1);
  // An unconfirmed track that is not matched on its second frame is dropped.
  CHECK(tracker.update({box(11, 10, 40, 40, 0.65f), box(300, 300, 40, 40, 0.9f)}).size() == 1);
  CHECK(tracker.update({box(11, 10, 40, 40, 0.65f)}).size() == 1);
  CHECK(std::find(tracker.removed().begin(), tracker.removed().end(), 2) != tracker.removed().end());
  const auto fresh = tracker.update({box(11, 10, 40, 40, 0.65f), box(300, 300, 40, 40, 0.9f)});
  CHECK(fresh.size() == 1);  // a third ID, again unconfirmed
  const auto third = tracker.update({box(11, 10, 40, 40, 0.65f), box(301, 300, 40, 40, 0.9f)});
  REQUIRE(third.size() == 2);
  CHECK(id_of(third, 1) == 3);
}

TEST_CASE("tracker: each class is tracked on its own; IDs are unique across classes") {
  Tracker tracker;
  std::set<std::int64_t> ids;
  for (int f = 0; f < 10; ++f) {
    // The same box for a person and a dog: two tracks that never swap.
    const auto objects = tracker.update({box(100.0f + f, 100, 50, 100, 0.9f, 0), box(100.0f + f, 100, 50, 100, 0.8f, 16)});
    REQUIRE(objects.size() == 2);
    for (const TrackedObject& o : objects) {
      ids.insert(o.track_id);
      CHECK(o.detection.class_id == (o.track_id == 1 ? 0 : 16));
    }
  }
  CHECK(ids == std::set<std::int64_t>{1, 2});
  CHECK(tracker.update({box(10, 10, 0, 30)}).empty());  // no width: ignored
}

TEST_CASE("tracker options out of range are refused") {
  const auto refused = [](TrackerOptions o) { CHECK_THROWS_AS(Tracker{o}, Error); };
  TrackerOptions o;
  o.low = 0.6f;
  refused(o);
  o = {};
  o.high = 1.0f;
  refused(o);
  o = {};
  o.match = 0;
  refused(o);
  o = {};
  o.buffer = -1;
  refused(o);
  o = {};
  o.fps = 0;
  refused(o);
}

namespace {

TrackedObject tracked(std::int64_t id, float cx, float bottom, int class_id = 0) {
  return {id, box(cx - 10, bottom - 40, 20, 40, 0.9f, class_id), 0};
}

}  // namespace

TEST_CASE("count lines: crossings in both directions counted exactly, per class") {
  Counter counter({resolve_count_line(parse_count_line("door=100,200,500,200"), 640, 480)}, {});
  // Track 1 walks down across the line, then back up; track 2 (class 3)
  // walks down; track 3 passes beside the segment; track 4 stops on the line.
  std::vector<CountEvent> events;
  for (int f = 0; f < 40; ++f) {
    const float y = f < 20 ? 150.0f + 5 * f : 245.0f - 5 * (f - 20);
    std::vector<TrackedObject> objects = {tracked(1, 300, y), tracked(2, 200, 100.0f + 6 * f, 3),
                                          tracked(3, 550, 100.0f + 6 * f), tracked(4, 400, std::min(150.0f + 5 * f, 200.0f))};
    const CountUpdate u = counter.update(objects, f * 40.0, {});
    events.insert(events.end(), u.events.begin(), u.events.end());
  }
  REQUIRE(events.size() == 3);
  CHECK(events[0].track_id == 1);  // on the line at f = 10 (keeps its side), past it by more than 4 px at f = 11
  CHECK(events[1].track_id == 2);  // 196, 202 within 4 px of it, 208 at f = 18
  CHECK(events[2].track_id == 1);  // back up at f = 30
  const auto& totals = counter.totals().at("door");
  // Walking from (100,200) to (500,200) your right hand points down: moving down is "in".
  CHECK(totals.in.at(0) == 1);
  CHECK(totals.in.at(3) == 1);
  CHECK(totals.out.at(0) == 1);
  CHECK(totals.out.count(3) == 0);
  int in = 0, out = 0;
  for (const CountEvent& e : events) {
    CHECK(e.type == CountEvent::Type::Cross);
    CHECK(e.name == "door");
    (e.in ? in : out)++;
  }
  CHECK(in == 2);
  CHECK(out == 1);
}

TEST_CASE("count lines: a box jittering on the line counts once") {
  Counter counter({resolve_count_line(parse_count_line("door=0,200,640,200"), 640, 480)}, {});
  // Box height 40: points within 4 px of the line keep their side.
  const float ys[] = {180, 190, 197, 203, 198, 202, 196, 204.5f, 201, 199, 210, 220};
  std::vector<CountEvent> events;
  for (int f = 0; f < 12; ++f) {
    const CountUpdate u = counter.update({tracked(1, 300, ys[f])}, f * 40.0, {});
    events.insert(events.end(), u.events.begin(), u.events.end());
  }
  REQUIRE(events.size() == 1);
  CHECK(events[0].in);
  CHECK(counter.totals().at("door").in.at(0) == 1);
}

TEST_CASE("zones: dwell times exact, enter and exit events, a dropped track exits") {
  Counter counter({}, {resolve_zone(parse_zone("desk=10%,10%,50%,10%,50%,50%,10%,50%"), 1000, 1000)});
  // The zone is x 100..500, y 100..500. Track 7 stands inside from frame 10
  // to frame 29 at 25 frames/s; track 8 enters at frame 5 and is dropped.
  std::vector<CountEvent> events;
  for (int f = 0; f < 40; ++f) {
    const double t = f * 40.0;
    std::vector<TrackedObject> objects = {tracked(7, f >= 10 && f < 30 ? 300.0f : 700.0f, 300)};
    if (f >= 5 && f < 8) objects.push_back(tracked(8, 200, 200));
    const std::vector<std::int64_t> removed = f == 12 ? std::vector<std::int64_t>{8} : std::vector<std::int64_t>{};
    const CountUpdate u = counter.update(objects, t, removed);
    events.insert(events.end(), u.events.begin(), u.events.end());
    const auto& inside = u.zones.at("desk");
    if (f >= 10 && f < 30) {
      const auto seven = std::find_if(inside.begin(), inside.end(), [](const ZoneOccupant& o) { return o.track_id == 7; });
      REQUIRE(seven != inside.end());
      CHECK(seven->dwell_ms == doctest::Approx((f - 10) * 40.0));
      CHECK(seven->dwell_frames == f - 9);
    }
    CHECK(inside.size() == static_cast<std::size_t>((f >= 10 && f < 30) + (f >= 5 && f < 8)));
  }
  REQUIRE(events.size() == 4);
  CHECK((events[0].type == CountEvent::Type::Enter && events[0].track_id == 8));
  CHECK((events[1].type == CountEvent::Type::Enter && events[1].track_id == 7));
  CHECK((events[2].type == CountEvent::Type::Exit && events[2].track_id == 8));
  CHECK(events[2].dwell_ms == doctest::Approx(80.0));  // frames 5..7
  CHECK(events[2].dwell_frames == 3);
  CHECK((events[3].type == CountEvent::Type::Exit && events[3].track_id == 7));
  CHECK(events[3].dwell_ms == doctest::Approx(19 * 40.0));
  CHECK(events[3].dwell_frames == 20);
}

TEST_CASE("count lines and zones: bad syntax and geometry refused with one line naming the problem") {
  const auto message = [](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(message([] { parse_count_line("0,1,2,3"); }).find("no NAME=") != std::string::npos);
  CHECK(message([] { parse_count_line("door=0,1,2"); }).find("takes 4") != std::string::npos);
  CHECK(message([] { parse_count_line("door=0,1,x,3"); }).find("coordinate 3 'x'") != std::string::npos);
  CHECK(message([] { parse_count_line("door=0,1,,3"); }).find("coordinate 3") != std::string::npos);
  CHECK(message([] { parse_count_line("do or=0,1,2,3"); }).find("name") != std::string::npos);
  CHECK(message([] { parse_zone("z=0,0,10,10"); }).find("at least 3 corners") != std::string::npos);
  CHECK(message([] { parse_zone("z=0,0,10,10,20"); }).find("pairs") != std::string::npos);
  CHECK(message([] { resolve_count_line(parse_count_line("door=0,100,700,100"), 640, 480); })
            .find("outside the 640x480 frame") != std::string::npos);
  CHECK(message([] { resolve_count_line(parse_count_line("door=0,100,0,100"), 640, 480); }).find("length") != std::string::npos);
  CHECK(message([] { resolve_count_line(parse_count_line("door=0,101%,0,100"), 640, 480); }).find("outside") != std::string::npos);
  CHECK(message([] { resolve_zone(parse_zone("z=0,0,10,10,20,20"), 640, 480); }).find("no area") != std::string::npos);
  CHECK(message([] { resolve_zone(parse_zone("bow=0,0,100,100,100,0,0,50"), 640, 480); }).find("cross") != std::string::npos);
  CHECK(message([] {
          Counter({resolve_count_line(parse_count_line("a=0,0,10,10"), 640, 480)},
                  {resolve_zone(parse_zone("a=0,0,10,0,10,10"), 640, 480)});
        }).find("two count lines or zones are named a") != std::string::npos);
  const CountLine half = resolve_count_line(parse_count_line("mid=0,50%,100%,50%"), 640, 480);
  CHECK(half.a.y == 240);
  CHECK(half.b.x == 640);
}
