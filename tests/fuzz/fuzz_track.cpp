// Count-line and zone texts, and detections of any values (NaN, infinite,
// huge, negative, piled up) through the Tracker and a Counter: the texts
// parse or give a dusk::Error, and tracking never crashes, hangs or reports
// a track for a detection that was not given. The input: a first line of
// line/zone text, then 24-byte records (class, score, left, top, width,
// height as floats; class from the first), a record of all 0xff ending a
// frame.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dusk/counting.hpp"
#include "dusk/error.hpp"
#include "dusk/track.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint8_t* end = data + size;
  const std::uint8_t* newline = static_cast<const std::uint8_t*>(std::memchr(data, '\n', size));
  const std::string spec(reinterpret_cast<const char*>(data), newline ? static_cast<std::size_t>(newline - data) : size);
  std::vector<dusk::CountLine> lines;
  std::vector<dusk::Zone> zones;
  try {
    if (spec.find(',') != std::string::npos && std::count(spec.begin(), spec.end(), ',') == 3) {
      lines.push_back(dusk::resolve_count_line(dusk::parse_count_line(spec), 640, 480));
    } else {
      zones.push_back(dusk::resolve_zone(dusk::parse_zone(spec), 640, 480));
    }
  } catch (const dusk::Error&) {
  }
  dusk::Tracker tracker;
  dusk::Counter counter(lines, zones);
  std::vector<dusk::Detection> frame;
  double time_ms = 0;
  const auto run = [&] {
    const std::vector<dusk::TrackedObject> objects = tracker.update(frame);
    for (const dusk::TrackedObject& o : objects) {
      if (o.detection_index >= frame.size() || o.track_id < 1) std::abort();
    }
    counter.update(objects, time_ms, tracker.removed());
    time_ms += 40;
    frame.clear();
  };
  for (const std::uint8_t* p = newline ? newline + 1 : end; p + 24 <= end; p += 24) {
    float v[6];
    std::memcpy(v, p, sizeof v);
    std::uint32_t first;
    std::memcpy(&first, p, sizeof first);
    if (first == 0xffffffffu) {
      run();
      continue;
    }
    dusk::Detection d;
    d.class_id = static_cast<int>(first % 4);
    d.confidence = v[1];
    d.box = {v[2], v[3], v[4], v[5]};
    frame.push_back(d);
    if (frame.size() > 400) run();
  }
  run();
  return 0;
}
