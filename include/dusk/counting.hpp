#pragma once
// Counting tracked objects: line crossings and zone dwell times.
//
// Each tracked object is followed by one point, the bottom centre of its
// box (where it stands). A count line is a segment; a track crosses it when
// its point moves from one side of the line to the other between two frames
// it is seen in, through the segment. Walking from the line's first point to
// its second, a crossing from the left-hand side to the right-hand side (as
// the picture shows it, y pointing down) is "in", the other way "out". A
// point closer to the line than a tenth of its box's height keeps the side
// it had, so a box whose edge jitters on the line counts once. A zone is a
// polygon; a
// track is in it while its point is inside (even-odd rule), from the frame
// it is first seen inside until a frame it is seen outside or the tracker
// drops it; its dwell time is the time between the frame it entered and the
// frame at hand.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dusk/track.hpp"

namespace dusk {

struct Point {
  double x = 0;
  double y = 0;
};

// A coordinate as written: pixels, or a fraction of the frame's width or
// height ("50%").
struct Coordinate {
  double value = 0;
  bool percent = false;
};

struct CountLineSpec {
  std::string name;
  std::vector<Coordinate> coordinates;  // x1, y1, x2, y2
};

struct ZoneSpec {
  std::string name;
  std::vector<Coordinate> coordinates;  // x1, y1, x2, y2, x3, y3, ...
};

// "NAME=x1,y1,x2,y2" and "NAME=x1,y1,x2,y2,x3,y3[,...]"; each coordinate a
// number of pixels or a percentage of the frame ("50%"). Throws dusk::Error
// saying what is wrong with the text.
CountLineSpec parse_count_line(const std::string& text);
ZoneSpec parse_zone(const std::string& text);

struct CountLine {
  std::string name;
  Point a, b;
};

struct Zone {
  std::string name;
  std::vector<Point> polygon;
};

// Resolves percentages against a frame of width x height and checks the
// geometry: points inside the frame, a line of some length, a polygon of at
// least three corners with an area and no crossing edges, names unique
// across lines and zones. Throws dusk::Error naming the line or zone.
CountLine resolve_count_line(const CountLineSpec& spec, int width, int height);
Zone resolve_zone(const ZoneSpec& spec, int width, int height);

struct CountEvent {
  enum class Type { Cross, Enter, Exit };
  Type type = Type::Cross;
  std::string name;  // the line's or zone's
  std::int64_t track_id = 0;
  int class_id = 0;
  bool in = true;         // Cross: "in" or "out"
  double dwell_ms = 0;    // Exit: time spent inside
  std::int64_t dwell_frames = 0;  // Exit: frames seen inside
};

struct ZoneOccupant {
  std::int64_t track_id = 0;
  int class_id = 0;
  double dwell_ms = 0;            // since the frame it entered
  std::int64_t dwell_frames = 0;  // frames seen inside, this one included
};

struct LineTotals {
  std::map<int, std::int64_t> in;   // by class
  std::map<int, std::int64_t> out;  // by class
};

struct CountUpdate {
  std::vector<CountEvent> events;
  std::map<std::string, std::vector<ZoneOccupant>> zones;  // tracks seen inside in this frame, by zone
};

class Counter {
 public:
  Counter(std::vector<CountLine> lines, std::vector<Zone> zones);
  // One frame: the tracker's objects, the frame's time, and the tracks the
  // tracker dropped in it (Tracker::removed()).
  CountUpdate update(const std::vector<TrackedObject>& objects, double timestamp_ms,
                     const std::vector<std::int64_t>& removed);
  const std::vector<CountLine>& lines() const { return lines_; }
  const std::vector<Zone>& zones() const { return zones_; }
  // Crossings so far, by line name.
  const std::map<std::string, LineTotals>& totals() const { return totals_; }

 private:
  struct LineState {
    Point last;      // the point when it was last strictly on one side
    int side = 0;    // +1 right of the line, -1 left
  };
  struct ZoneVisit {
    double entered_ms = 0;
    double last_ms = 0;
    std::int64_t frames = 0;
  };
  struct TrackState {
    int class_id = 0;
    std::vector<LineState> lines;
    std::vector<std::optional<ZoneVisit>> zones;
  };

  std::vector<CountLine> lines_;
  std::vector<Zone> zones_;
  std::map<std::string, LineTotals> totals_;
  std::map<std::int64_t, TrackState> tracks_;
};

// Whether `p` is inside `polygon` (even-odd rule).
bool inside_polygon(const std::vector<Point>& polygon, Point p);

}  // namespace dusk
