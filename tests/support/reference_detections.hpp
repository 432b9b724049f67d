#pragma once
// Darknet's reference detections (../shared/reference/*.txt) and matching
// them against dusk's: same count, same classes, close probabilities,
// overlapping boxes.
#include <string>
#include <vector>

#include "dusk/detector.hpp"

namespace dusk::test {

struct ReferenceDetection {
  int class_id = 0;
  float prob = 0;
  PixelBox box;
};

std::vector<ReferenceDetection> read_reference_detections(const std::string& path);

float pixel_iou(const PixelBox& a, const PixelBox& b);

// Bit-for-bit the same detections in the same order.
bool identical_detections(const std::vector<Detection>& a, const std::vector<Detection>& b);

// One line per problem; empty when every reference detection has a
// counterpart of the same class within `prob_tolerance` and `min_iou`.
std::vector<std::string> match_detections(const std::vector<ReferenceDetection>& expected,
                                          const std::vector<Detection>& actual, float prob_tolerance, float min_iou);

}  // namespace dusk::test
