// Box overlap measures and Darknet's per-class non-maximum suppression.
#include <algorithm>
#include <cmath>

#include "detect/candidates.hpp"

namespace dusk {

namespace {

float overlap(float x1, float w1, float x2, float w2) {
  const float left = std::max(x1 - w1 / 2, x2 - w2 / 2);
  const float right = std::min(x1 + w1 / 2, x2 + w2 / 2);
  return right - left;
}

float intersection(const RelativeBox& a, const RelativeBox& b) {
  const float w = overlap(a.x, a.w, b.x, b.w);
  const float h = overlap(a.y, a.h, b.y, b.h);
  return (w < 0 || h < 0) ? 0.f : w * h;
}

}  // namespace

float box_iou(const RelativeBox& a, const RelativeBox& b) {
  const float i = intersection(a, b);
  const float u = a.w * a.h + b.w * b.h - i;
  if (i == 0 || u == 0) return 0;
  return i / u;
}

float box_diou(const RelativeBox& a, const RelativeBox& b, float beta) {
  const float top = std::fmin(a.y - a.h / 2, b.y - b.h / 2);
  const float bottom = std::fmax(a.y + a.h / 2, b.y + b.h / 2);
  const float left = std::fmin(a.x - a.w / 2, b.x - b.w / 2);
  const float right = std::fmax(a.x + a.w / 2, b.x + b.w / 2);
  const float w = right - left;
  const float h = bottom - top;
  const float diagonal = w * w + h * h;
  const float iou = box_iou(a, b);
  if (diagonal == 0) return iou;
  const float distance = (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y);
  return iou - static_cast<float>(std::pow(distance / diagonal, beta));
}

void suppress(std::vector<Candidate>& candidates, int classes, float threshold, NmsKind kind, float beta) {
  // Darknet greedy NMS uses DIoU with a fixed exponent of 0.6.
  const auto overlaps = [&](const RelativeBox& a, const RelativeBox& b) {
    switch (kind) {
      case NmsKind::Default:
      case NmsKind::Corners: return box_iou(a, b) > threshold;
      case NmsKind::Greedy: return box_diou(a, b, 0.6f) > threshold;
      case NmsKind::Diou: return box_diou(a, b, beta) > threshold;
    }
    return false;
  };
  for (int k = 0; k < classes; ++k) {
    const auto index = static_cast<std::size_t>(k);
    // Stable, as glibc's merge-sorting qsort is for Darknet: ties keep the
    // order the previous class's sort left.
    std::stable_sort(candidates.begin(), candidates.end(),
                     [&](const Candidate& a, const Candidate& b) { return a.probs[index] > b.probs[index]; });
    // Candidates without this class sort last and cannot change anything.
    std::size_t active = 0;
    while (active < candidates.size() && candidates[active].probs[index] > 0) ++active;
    for (std::size_t i = 0; i < active; ++i) {
      if (candidates[i].probs[index] == 0) continue;
      for (std::size_t j = i + 1; j < active; ++j) {
        if (overlaps(candidates[i].box, candidates[j].box)) candidates[j].probs[index] = 0;
      }
    }
  }
}

}  // namespace dusk
