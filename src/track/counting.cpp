// Line crossings and zone dwell times over tracked objects (see
// dusk/counting.hpp for the rules), and the text syntax of lines and zones.
#include "dusk/counting.hpp"

#include <cmath>
#include <cstdlib>

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

std::vector<Coordinate> parse_spec(const std::string& text, const char* what, const char* example,
                                   std::string& name) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error(cat(what, " '", text, "' has no NAME=; write it like ", example));
  }
  name = text.substr(0, eq);
  for (const char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      throw Error(cat(what, " name '", name, "' may hold only letters, digits, '_', '-' and '.'"));
    }
  }
  std::vector<Coordinate> coordinates;
  std::size_t at = eq + 1;
  while (true) {
    const std::size_t comma = text.find(',', at);
    std::string item = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    Coordinate c;
    if (!item.empty() && item.back() == '%') {
      c.percent = true;
      item.pop_back();
    }
    char* end = nullptr;
    c.value = item.empty() ? NAN : std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(c.value)) {
      throw Error(cat(what, " ", name, ": coordinate ", coordinates.size() + 1, " '", item,
                      "' is not a number of pixels (120) or a percentage of the frame (50%); write it like ", example));
    }
    coordinates.push_back(c);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return coordinates;
}

double cross(Point o, Point a, Point b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }

std::vector<Point> resolve(const std::string& what, const std::string& name, const std::vector<Coordinate>& coordinates,
                           int width, int height) {
  std::vector<Point> points;
  for (std::size_t i = 0; i + 1 < coordinates.size(); i += 2) {
    const Coordinate& x = coordinates[i];
    const Coordinate& y = coordinates[i + 1];
    const Point p{x.percent ? x.value / 100.0 * width : x.value, y.percent ? y.value / 100.0 * height : y.value};
    if (p.x < 0 || p.y < 0 || p.x > width || p.y > height) {
      throw Error(cat(what, " ", name, ": point ", i / 2 + 1, " (", p.x, ",", p.y, ") is outside the ", width, "x", height,
                      " frame; coordinates are pixels of the source from (0,0) to (", width, ",", height,
                      ") or percentages such as 50%"));
    }
    points.push_back(p);
  }
  return points;
}

// Whether segments pq and rs cross at a point inside both (touching counts).
bool segments_cross(Point p, Point q, Point r, Point s) {
  const double d1 = cross(r, s, p), d2 = cross(r, s, q), d3 = cross(p, q, r), d4 = cross(p, q, s);
  return ((d1 > 0) != (d2 > 0) || d1 == 0 || d2 == 0) && ((d3 > 0) != (d4 > 0) || d3 == 0 || d4 == 0) &&
         std::min(p.x, q.x) <= std::max(r.x, s.x) && std::min(r.x, s.x) <= std::max(p.x, q.x) &&
         std::min(p.y, q.y) <= std::max(r.y, s.y) && std::min(r.y, s.y) <= std::max(p.y, q.y);
}

}  // namespace

CountLineSpec parse_count_line(const std::string& text) {
  CountLineSpec spec;
  spec.coordinates = parse_spec(text, "count line", "door=0,360,1280,360 or door=0,50%,100%,50%", spec.name);
  if (spec.coordinates.size() != 4) {
    throw Error(cat("count line ", spec.name, " has ", spec.coordinates.size(),
                    " coordinates; a line takes 4: x1,y1,x2,y2"));
  }
  return spec;
}

ZoneSpec parse_zone(const std::string& text) {
  ZoneSpec spec;
  spec.coordinates = parse_spec(text, "zone", "desk=100,100,400,100,400,300,100,300", spec.name);
  if (spec.coordinates.size() % 2 != 0 || spec.coordinates.size() < 6) {
    throw Error(cat("zone ", spec.name, " has ", spec.coordinates.size(),
                    " coordinates; a zone takes x,y pairs for at least 3 corners: x1,y1,x2,y2,x3,y3[,...]"));
  }
  return spec;
}

CountLine resolve_count_line(const CountLineSpec& spec, int width, int height) {
  const std::vector<Point> p = resolve("count line", spec.name, spec.coordinates, width, height);
  if (p.size() != 2) throw Error(cat("count line ", spec.name, " needs 2 points, x1,y1,x2,y2"));
  if (p[0].x == p[1].x && p[0].y == p[1].y) {
    throw Error(cat("count line ", spec.name, " has both ends at (", p[0].x, ",", p[0].y, "); give it some length"));
  }
  return {spec.name, p[0], p[1]};
}

Zone resolve_zone(const ZoneSpec& spec, int width, int height) {
  std::vector<Point> p = resolve("zone", spec.name, spec.coordinates, width, height);
  const std::size_t n = p.size();
  if (n < 3) throw Error(cat("zone ", spec.name, " needs at least 3 corners"));
  double area2 = 0;
  for (std::size_t i = 0; i < n; ++i) area2 += cross({0, 0}, p[i], p[(i + 1) % n]);
  if (area2 == 0) throw Error(cat("zone ", spec.name, " has no area: its corners lie on one line"));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (j == i + 1 || (i == 0 && j == n - 1)) continue;  // neighbours share a corner
      if (segments_cross(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n])) {
        throw Error(cat("zone ", spec.name, ": edges ", i + 1, " and ", j + 1,
                        " cross; list the corners in order around the zone"));
      }
    }
  }
  return {spec.name, std::move(p)};
}

bool inside_polygon(const std::vector<Point>& polygon, Point p) {
  bool inside = false;
  for (std::size_t i = 0, j = polygon.size() - 1; i < polygon.size(); j = i++) {
    const Point a = polygon[i], b = polygon[j];
    if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

Counter::Counter(std::vector<CountLine> lines, std::vector<Zone> zones)
    : lines_(std::move(lines)), zones_(std::move(zones)) {
  std::map<std::string, int> seen;
  for (const CountLine& l : lines_) {
    if (seen[l.name]++) throw Error(cat("two count lines or zones are named ", l.name, "; give each its own name"));
    totals_[l.name];
  }
  for (const Zone& z : zones_) {
    if (seen[z.name]++) throw Error(cat("two count lines or zones are named ", z.name, "; give each its own name"));
  }
}

CountUpdate Counter::update(const std::vector<TrackedObject>& objects, double timestamp_ms,
                            const std::vector<std::int64_t>& removed) {
  CountUpdate update;
  for (const Zone& z : zones_) update.zones[z.name];
  for (const TrackedObject& object : objects) {
    const PixelBox& box = object.detection.box;
    const Point point{static_cast<double>(box.left) + static_cast<double>(box.width) / 2,
                      static_cast<double>(box.top) + static_cast<double>(box.height)};
    auto [it, fresh] = tracks_.try_emplace(object.track_id);
    TrackState& state = it->second;
    if (fresh) {
      state.class_id = object.detection.class_id;
      state.lines.resize(lines_.size());
      state.zones.resize(zones_.size());
    }
    for (std::size_t l = 0; l < lines_.size(); ++l) {
      const CountLine& line = lines_[l];
      // Signed distance from the line in pixels; within a tenth of the box's
      // height of it, a point keeps its side (a box's edge jitters by about
      // that from frame to frame, and would otherwise count in-out-in).
      const double distance = cross(line.a, line.b, point) / std::hypot(line.b.x - line.a.x, line.b.y - line.a.y);
      if (std::abs(distance) <= 0.1 * static_cast<double>(box.height)) continue;
      const int side = distance > 0 ? 1 : -1;
      LineState& ls = state.lines[l];
      if (ls.side != 0 && side != ls.side && segments_cross(ls.last, point, line.a, line.b)) {
        const bool in = side > 0;  // left to right of a -> b, y down
        update.events.push_back({CountEvent::Type::Cross, line.name, object.track_id, state.class_id, in, 0, 0});
        ++(in ? totals_[line.name].in : totals_[line.name].out)[state.class_id];
      }
      ls.side = side;
      ls.last = point;
    }
    for (std::size_t z = 0; z < zones_.size(); ++z) {
      std::optional<ZoneVisit>& visit = state.zones[z];
      const bool inside = inside_polygon(zones_[z].polygon, point);
      if (inside) {
        if (!visit) {
          visit = ZoneVisit{timestamp_ms, timestamp_ms, 0};
          update.events.push_back({CountEvent::Type::Enter, zones_[z].name, object.track_id, state.class_id, true, 0, 0});
        }
        visit->last_ms = timestamp_ms;
        ++visit->frames;
        update.zones[zones_[z].name].push_back(
            {object.track_id, state.class_id, timestamp_ms - visit->entered_ms, visit->frames});
      } else if (visit) {
        update.events.push_back({CountEvent::Type::Exit, zones_[z].name, object.track_id, state.class_id, false,
                                 visit->last_ms - visit->entered_ms, visit->frames});
        visit.reset();
      }
    }
  }
  for (const std::int64_t id : removed) {
    const auto it = tracks_.find(id);
    if (it == tracks_.end()) continue;
    for (std::size_t z = 0; z < zones_.size(); ++z) {
      if (const std::optional<ZoneVisit>& visit = it->second.zones[z]) {
        update.events.push_back({CountEvent::Type::Exit, zones_[z].name, id, it->second.class_id, false,
                                 visit->last_ms - visit->entered_ms, visit->frames});
      }
    }
    tracks_.erase(it);
  }
  return update;
}

}  // namespace dusk
