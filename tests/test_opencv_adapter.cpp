// <dusk/opencv.hpp>: detecting on a cv::Mat equals detecting on the file.
#include <doctest/doctest.h>

#include <opencv2/imgcodecs.hpp>

#include "dusk/dusk.hpp"
#include "dusk/opencv.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;

TEST_CASE("a BGR cv::Mat from cv::imread gives the file's detections") {
  test::TempDir dir;
  // PNG is lossless, so OpenCV and stb_image decode the same pixels.
  const std::string png = dir.file("dog.png");
  save_image(load_image(test::darknet_data("dog.jpg")), png, ImageFormat::Png);
  const Detector detector(test::shared("models/yolo-fastest-1.1.cfg"), test::shared("models/yolo-fastest-1.1.weights"));
  const std::vector<Detection> expected = detector.detect(png);
  const std::vector<Detection> found = detect(detector, cv::imread(png, cv::IMREAD_COLOR));
  REQUIRE(found.size() == expected.size());
  REQUIRE(!found.empty());
  for (std::size_t i = 0; i < found.size(); ++i) {
    CHECK(found[i].class_id == expected[i].class_id);
    CHECK(found[i].confidence == expected[i].confidence);
    CHECK(found[i].box.left == expected[i].box.left);
  }
  CHECK_THROWS_AS(detect(detector, cv::Mat()), Error);
}
