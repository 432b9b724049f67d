// `dusk detect --track` output: Darknet's -out objects plus track_id,
// counting events, zone occupants and totals.
#include "track_output.hpp"

#include <cmath>

#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

double ms3(double v) { return std::round(v * 1000) / 1000; }

const char* event_type(CountEvent::Type type) {
  switch (type) {
    case CountEvent::Type::Cross: return "cross";
    case CountEvent::Type::Enter: return "enter";
    case CountEvent::Type::Exit: return "exit";
  }
  return "?";
}

struct Sums {
  std::int64_t in = 0;
  std::int64_t out = 0;
};
Sums sums(const LineTotals& totals) {
  Sums s;
  for (const auto& [cls, n] : totals.in) s.in += n;
  for (const auto& [cls, n] : totals.out) s.out += n;
  return s;
}

}  // namespace

CountSpecs parse_count_specs(const DetectArgs& args) {
  CountSpecs specs;
  try {
    for (const std::string& text : args.count_lines) specs.lines.push_back(parse_count_line(text));
  } catch (const Error& error) {
    throw UsageError(cat("--count-line: ", error.what()));
  }
  try {
    for (const std::string& text : args.zones) specs.zones.push_back(parse_zone(text));
  } catch (const Error& error) {
    throw UsageError(cat("--zone: ", error.what()));
  }
  return specs;
}

TrackingRun::TrackingRun(const DetectArgs& args, const CountSpecs& specs, double fps, int classes)
    : specs_(specs),
      tracker_(TrackerOptions{args.track_high, args.track_low, args.track_match, args.track_buffer, fps > 0 ? fps : 30.0}),
      overlay_(classes) {}

void TrackingRun::set_frame_size(int width, int height) {
  std::vector<CountLine> lines;
  std::vector<Zone> zones;
  try {
    for (const CountLineSpec& spec : specs_.lines) lines.push_back(resolve_count_line(spec, width, height));
  } catch (const Error& error) {
    throw UsageError(cat("--count-line: ", error.what()));
  }
  try {
    for (const ZoneSpec& spec : specs_.zones) zones.push_back(resolve_zone(spec, width, height));
    if (!specs_.empty()) counter_.emplace(std::move(lines), std::move(zones));
  } catch (const Error& error) {
    throw UsageError(cat("--zone: ", error.what()));
  }
  sized_ = true;
}

void TrackingRun::update(std::vector<Detection>& detections, double timestamp_ms, nlohmann::ordered_json& line) {
  last_objects_ = tracker_.update(detections);
  std::vector<Detection> tracked;
  nlohmann::ordered_json objects = nlohmann::ordered_json::array();
  for (const TrackedObject& o : last_objects_) {
    seen_ids_.insert(o.track_id);
    nlohmann::ordered_json object = objects_value({o.detection}).at(0);
    object["track_id"] = o.track_id;
    objects.push_back(std::move(object));
    Detection d = o.detection;
    d.label = cat(d.label, " #", o.track_id);
    tracked.push_back(std::move(d));
  }
  line["objects"] = std::move(objects);
  detections = std::move(tracked);
  if (!counter_) return;
  const CountUpdate counts = counter_->update(last_objects_, timestamp_ms, tracker_.removed());
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  for (const CountEvent& e : counts.events) {
    nlohmann::ordered_json event = {{"type", event_type(e.type)}};
    event[e.type == CountEvent::Type::Cross ? "line" : "zone"] = e.name;
    event["track_id"] = e.track_id;
    event["class_id"] = e.class_id;
    if (e.type == CountEvent::Type::Cross) event["direction"] = e.in ? "in" : "out";
    if (e.type == CountEvent::Type::Exit) {
      event["dwell_ms"] = ms3(e.dwell_ms);
      event["dwell_frames"] = e.dwell_frames;
    }
    events.push_back(std::move(event));
  }
  line["events"] = std::move(events);
  if (!counts.zones.empty()) {
    nlohmann::ordered_json zones = nlohmann::ordered_json::object();
    for (const Zone& zone : counter_->zones()) {
      nlohmann::ordered_json inside = nlohmann::ordered_json::array();
      for (const ZoneOccupant& o : counts.zones.at(zone.name)) {
        inside.push_back({{"track_id", o.track_id}, {"class_id", o.class_id}, {"dwell_ms", ms3(o.dwell_ms)},
                          {"dwell_frames", o.dwell_frames}});
      }
      zones[zone.name] = std::move(inside);
    }
    line["zones"] = std::move(zones);
  }
}

void TrackingRun::draw(cv::Mat& bgr) { overlay_.draw(bgr, last_objects_, tracker_.removed(), counter_ ? &*counter_ : nullptr); }

nlohmann::ordered_json TrackingRun::totals_json() const {
  nlohmann::ordered_json totals = {{"tracks", seen_ids_.size()}};
  if (!counter_) return totals;
  nlohmann::ordered_json lines = nlohmann::ordered_json::object();
  for (const CountLine& l : counter_->lines()) {
    const LineTotals& t = counter_->totals().at(l.name);
    const auto by_class = [](const std::map<int, std::int64_t>& counts) {
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      for (const auto& [cls, n] : counts) out[std::to_string(cls)] = n;
      return out;
    };
    const Sums s = sums(t);
    lines[l.name] = {{"in", s.in}, {"out", s.out}, {"in_by_class", by_class(t.in)}, {"out_by_class", by_class(t.out)}};
  }
  totals["lines"] = std::move(lines);
  return totals;
}

std::string TrackingRun::summary() const {
  std::string text = cat(seen_ids_.size(), " tracks");
  if (counter_) {
    for (const CountLine& l : counter_->lines()) {
      const Sums s = sums(counter_->totals().at(l.name));
      text += cat(", ", l.name, ": ", s.in, " in, ", s.out, " out");
    }
  }
  return text;
}

}  // namespace dusk::cli
