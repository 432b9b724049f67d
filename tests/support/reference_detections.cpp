#include "support/reference_detections.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace dusk::test {

std::vector<ReferenceDetection> read_reference_detections(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<ReferenceDetection> detections;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    ReferenceDetection d;
    fields >> d.class_id >> d.prob >> d.box.left >> d.box.top >> d.box.width >> d.box.height;
    if (!fields) throw std::runtime_error("cannot parse '" + line + "' in " + path);
    detections.push_back(d);
  }
  return detections;
}

float pixel_iou(const PixelBox& a, const PixelBox& b) {
  const float w = std::min(a.left + a.width, b.left + b.width) - std::max(a.left, b.left);
  const float h = std::min(a.top + a.height, b.top + b.height) - std::max(a.top, b.top);
  if (w <= 0 || h <= 0) return 0;
  const float inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

bool identical_detections(const std::vector<Detection>& a, const std::vector<Detection>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].class_id != b[i].class_id || a[i].label != b[i].label || a[i].confidence != b[i].confidence ||
        a[i].box.left != b[i].box.left || a[i].box.top != b[i].box.top || a[i].box.width != b[i].box.width ||
        a[i].box.height != b[i].box.height) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> match_detections(const std::vector<ReferenceDetection>& expected,
                                          const std::vector<Detection>& actual, float prob_tolerance, float min_iou) {
  std::vector<std::string> problems;
  if (expected.size() != actual.size()) {
    problems.push_back("expected " + std::to_string(expected.size()) + " detections, got " +
                       std::to_string(actual.size()));
  }
  std::vector<bool> used(actual.size(), false);
  for (const ReferenceDetection& e : expected) {
    int best = -1;
    float best_iou = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
      if (used[i] || actual[i].class_id != e.class_id) continue;
      const float iou = pixel_iou(e.box, actual[i].box);
      if (iou > best_iou) {
        best_iou = iou;
        best = static_cast<int>(i);
      }
    }
    std::ostringstream where;
    where << "class " << e.class_id << " p=" << e.prob << " at (" << e.box.left << ", " << e.box.top << ", "
          << e.box.width << ", " << e.box.height << ")";
    if (best < 0) {
      problems.push_back(where.str() + ": no detection of that class");
      continue;
    }
    used[static_cast<std::size_t>(best)] = true;
    const Detection& a = actual[static_cast<std::size_t>(best)];
    if (best_iou < min_iou || std::abs(a.confidence - e.prob) > prob_tolerance) {
      std::ostringstream got;
      got << where.str() << ": best match p=" << a.confidence << " IoU " << best_iou;
      problems.push_back(got.str());
    }
  }
  return problems;
}

}  // namespace dusk::test
