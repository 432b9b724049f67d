#pragma once
// Optional OpenCV adapter: detect on a cv::Mat (8-bit BGR, as cv::imread
// returns it). Header-only; include it only in code that links OpenCV.
#include <opencv2/core.hpp>

#include "dusk/detector.hpp"
#include "dusk/error.hpp"

namespace dusk {

inline std::vector<Detection> detect(const Detector& detector, const cv::Mat& bgr) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw Error("dusk::detect needs an 8-bit 3-channel BGR cv::Mat (CV_8UC3), as cv::imread returns");
  }
  return detector.detect(bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step[0]), PixelFormat::BGR);
}

}  // namespace dusk
