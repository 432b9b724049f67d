// Tracks, trails, count lines and zones drawn on video frames.
#include <opencv2/imgproc.hpp>

#include "dusk/video.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

cv::Scalar bgr_of(const Color& c) { return {c.b * 255.0, c.g * 255.0, c.r * 255.0}; }

cv::Point pixel(const Point& p) { return {static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))}; }

void tag(cv::Mat& bgr, const std::string& text, cv::Point at, const cv::Scalar& colour) {
  int baseline = 0;
  const double scale = std::max(0.4, bgr.rows / 1000.0);
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
  at.x = std::clamp(at.x, 0, std::max(0, bgr.cols - size.width));
  at.y = std::clamp(at.y, size.height + 2, std::max(size.height + 2, bgr.rows - 2));
  cv::rectangle(bgr, {at.x, at.y - size.height - 2}, {at.x + size.width, at.y + baseline}, colour, cv::FILLED);
  cv::putText(bgr, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, {0, 0, 0}, 1, cv::LINE_AA);
}

}  // namespace

void TrackOverlay::draw(cv::Mat& bgr, const std::vector<TrackedObject>& objects, const std::vector<std::int64_t>& removed,
                        const Counter* counter) {
  for (const std::int64_t id : removed) trails_.erase(id);
  std::vector<Detection> tagged;
  tagged.reserve(objects.size());
  for (const TrackedObject& o : objects) {
    Detection d = o.detection;
    d.label = cat(d.label, " ", o.track_id);
    tagged.push_back(std::move(d));
    Trail& trail = trails_[o.track_id];
    trail.class_id = o.detection.class_id;
    trail.points.emplace_back(static_cast<int>(std::lround(o.detection.box.left + o.detection.box.width / 2)),
                              static_cast<int>(std::lround(o.detection.box.top + o.detection.box.height)));
    if (trail.points.size() > trail_points_) trail.points.erase(trail.points.begin());
  }
  if (counter != nullptr) {
    const int thickness = std::max(2, bgr.rows / 300);
    for (const Zone& zone : counter->zones()) {
      std::vector<cv::Point> corners;
      for (const Point& p : zone.polygon) corners.push_back(pixel(p));
      cv::polylines(bgr, corners, true, {255, 200, 0}, thickness, cv::LINE_AA);
      tag(bgr, zone.name, corners.front(), {255, 200, 0});
    }
    for (const CountLine& line : counter->lines()) {
      cv::line(bgr, pixel(line.a), pixel(line.b), {0, 255, 255}, thickness, cv::LINE_AA);
      std::int64_t in = 0, out = 0;
      const LineTotals& totals = counter->totals().at(line.name);
      for (const auto& [cls, n] : totals.in) in += n;
      for (const auto& [cls, n] : totals.out) out += n;
      tag(bgr, cat(line.name, " in ", in, " out ", out), pixel(line.a), {0, 255, 255});
    }
  }
  annotate_frame(bgr, tagged, classes_);
  const int thickness = std::max(2, bgr.rows / 400);
  for (const TrackedObject& o : objects) {
    const Trail& trail = trails_[o.track_id];
    if (trail.points.size() > 1) {
      cv::polylines(bgr, trail.points, false, bgr_of(class_color(trail.class_id, classes_)), thickness, cv::LINE_AA);
    }
  }
}

}  // namespace dusk
