// Detection end to end against Darknet's own detections, plus the pieces:
// decoding, box correction, NMS, pixel buffers and concurrency.
#include <doctest/doctest.h>

#include <cmath>
#include <thread>

#include "detect/candidates.hpp"
#include "dusk/dusk.hpp"
#include "support/paths.hpp"
#include "support/reference_detections.hpp"

using namespace dusk;

namespace {

const std::string kCfg = test::shared("models/yolo-fastest-1.1.cfg");
const std::string kWeights = test::shared("models/yolo-fastest-1.1.weights");

void check_against_darknet(bool letterbox, const std::string& reference) {
  DetectorOptions options;
  options.letterbox = letterbox;
  const Detector detector(kCfg, kWeights, options);
  const std::vector<Detection> found = detector.detect(test::darknet_data("dog.jpg"));
  const auto expected = test::read_reference_detections(test::shared("reference/" + reference));
  for (const Detection& d : found) {
    MESSAGE(d.class_id << " " << d.confidence << " " << d.box.left << " " << d.box.top << " " << d.box.width << " "
                       << d.box.height);
  }
  const std::vector<std::string> problems = test::match_detections(expected, found, 0.01f, 0.97f);
  for (const std::string& problem : problems) FAIL_CHECK(problem);
}

}  // namespace

TEST_CASE("yolo-fastest-1.1 on dog.jpg finds Darknet's detections (stretch)") {
  check_against_darknet(false, "yolo-fastest-1.1_dog.jpg_lb0.txt");
}

TEST_CASE("yolo-fastest-1.1 on dog.jpg finds Darknet's detections (letterbox)") {
  check_against_darknet(true, "yolo-fastest-1.1_dog.jpg_lb1.txt");
}

TEST_CASE("yolo decoding: box from cell, anchor and network size") {
  Layer layer;
  layer.kind = LayerKind::Yolo;
  layer.out = Shape{7, 2, 2};
  YoloSpec spec;
  spec.classes = 2;
  spec.total = 2;
  spec.mask = {1};
  spec.anchors = {10, 20, 30, 40};
  layer.spec = spec;
  Tensor out(layer.out);
  const auto set = [&](int entry, int cell, float v) { out.data[static_cast<std::size_t>(entry * 4 + cell)] = v; };
  // Cell 3 (row 1, col 1): x 0.5, y 0.25, tw = log 2, th 0, objectness 0.8, classes 0.5 and 0.2.
  set(0, 3, 0.5f);
  set(1, 3, 0.25f);
  set(2, 3, std::log(2.f));
  set(4, 3, 0.8f);
  set(5, 3, 0.5f);
  set(6, 3, 0.2f);
  std::vector<Candidate> candidates;
  decode_head(layer, out, Shape{3, 64, 128}, 0.25f, candidates);
  REQUIRE(candidates.size() == 1);
  const Candidate& c = candidates[0];
  CHECK(c.box.x == doctest::Approx(1.5 / 2));
  CHECK(c.box.y == doctest::Approx(1.25 / 2));
  CHECK(c.box.w == doctest::Approx(2 * 30.0 / 128));  // anchor 1 of the mask, over the network width
  CHECK(c.box.h == doctest::Approx(40.0 / 64));
  CHECK(c.probs[0] == doctest::Approx(0.4));
  CHECK(c.probs[1] == 0.f);  // 0.16 is under the threshold

  // new_coords: sizes are (2 t)^2 times the anchor, no exponential.
  spec.new_coords = true;
  layer.spec = spec;
  set(2, 3, 0.5f);
  candidates.clear();
  decode_head(layer, out, Shape{3, 64, 128}, 0.25f, candidates);
  CHECK(candidates[0].box.w == doctest::Approx(0.25 * 4 * 30 / 128));
}

TEST_CASE("region decoding: anchors in grid cells, objectness times class probability") {
  Layer layer;
  layer.kind = LayerKind::Region;
  layer.out = Shape{7, 1, 2};
  RegionSpec spec;
  spec.classes = 2;
  spec.num = 1;
  spec.anchors = {1.5f, 0.5f};
  layer.spec = spec;
  Tensor out(layer.out);
  // Cell 1: x 0.5, y 0.5, tw 0, th 0, objectness 0.9, classes 0.6 / 0.4.
  const float values[7] = {0.5f, 0.5f, 0, 0, 0.9f, 0.6f, 0.4f};
  for (int e = 0; e < 7; ++e) out.data[static_cast<std::size_t>(e * 2 + 1)] = values[e];
  std::vector<Candidate> candidates;
  decode_head(layer, out, Shape{3, 32, 64}, 0.25f, candidates);
  REQUIRE(candidates.size() == 1);
  CHECK(candidates[0].box.x == doctest::Approx(1.5 / 2));
  CHECK(candidates[0].box.w == doctest::Approx(1.5 / 2));
  CHECK(candidates[0].box.h == doctest::Approx(0.5 / 1));
  CHECK(candidates[0].probs[0] == doctest::Approx(0.54));
  CHECK(candidates[0].probs[1] == doctest::Approx(0.36));
}

TEST_CASE("Gaussian_yolo decoding scales class scores by one minus the mean uncertainty") {
  Layer layer;
  layer.kind = LayerKind::GaussianYolo;
  layer.out = Shape{10, 1, 1};
  YoloSpec spec;
  spec.classes = 1;
  spec.mask = {0};
  spec.anchors = {16, 16};
  layer.spec = spec;
  Tensor out(layer.out);
  out.data = {0.5f, 0.2f, 0.5f, 0.4f, 0, 0.2f, 0, 0.4f, 0.9f, 1.0f};
  std::vector<Candidate> candidates;
  decode_head(layer, out, Shape{3, 32, 32}, 0.25f, candidates);
  REQUIRE(candidates.size() == 1);
  CHECK(candidates[0].box.x == doctest::Approx(0.5));
  CHECK(candidates[0].box.w == doctest::Approx(0.5));
  CHECK(candidates[0].probs[0] == doctest::Approx(0.9 * (1 - 0.3)));
}

TEST_CASE("letterbox correction maps network coordinates back to the image") {
  // A 400x200 image letterboxed into 100x100 fills rows 25..75.
  std::vector<Candidate> candidates(1);
  candidates[0].box = RelativeBox{0.5f, 0.25f, 0.5f, 0.25f};
  correct_boxes(candidates, 400, 200, 100, 100, true);
  CHECK(candidates[0].box.x == doctest::Approx(0.5));
  CHECK(candidates[0].box.y == doctest::Approx(0.0));  // row 25 is the image's top
  CHECK(candidates[0].box.w == doctest::Approx(0.5));
  CHECK(candidates[0].box.h == doctest::Approx(0.5));
  candidates[0].box = RelativeBox{0.5f, 0.25f, 0.5f, 0.25f};
  correct_boxes(candidates, 400, 200, 100, 100, false);  // stretch: nothing to undo
  CHECK(candidates[0].box.y == doctest::Approx(0.25));
}

TEST_CASE("IoU, DIoU and per-class suppression") {
  const RelativeBox a{0.5f, 0.5f, 0.4f, 0.4f};
  const RelativeBox b{0.6f, 0.5f, 0.4f, 0.4f};
  CHECK(box_iou(a, b) == doctest::Approx(0.12 / 0.2));
  // Enclosing box 0.5 x 0.4: diagonal^2 0.41; centre distance^2 0.01.
  CHECK(box_diou(a, b, 1.0f) == doctest::Approx(0.6 - 0.01 / 0.41));
  CHECK(box_diou(a, b, 0.6f) == doctest::Approx(0.6 - std::pow(0.01 / 0.41, 0.6)));

  std::vector<Candidate> candidates(3);
  candidates[0] = Candidate{a, {0.5f, 0.0f}};
  candidates[1] = Candidate{b, {0.9f, 0.3f}};
  candidates[2] = Candidate{RelativeBox{0.1f, 0.1f, 0.1f, 0.1f}, {0.4f, 0.0f}};
  suppress(candidates, 2, 0.45f, NmsKind::Default, 0.6f);
  // Class 0: b (0.9) removes a (IoU 0.6); the far box stays. Class 1 keeps b.
  float kept0 = 0;
  for (const Candidate& c : candidates) kept0 += c.probs[0];
  CHECK(kept0 == doctest::Approx(0.9 + 0.4));
  std::vector<Candidate> loose = {Candidate{a, {0.5f}}, Candidate{b, {0.9f}}};
  suppress(loose, 1, 0.7f, NmsKind::Default, 0.6f);
  CHECK((loose[0].probs[0] > 0 && loose[1].probs[0] > 0));
}

TEST_CASE("a box passing the threshold for two classes is reported for each") {
  DetectorOptions options;
  options.threshold = 0.25f;
  const Detector detector(kCfg, kWeights, options);
  const std::vector<Detection> found = detector.detect(test::darknet_data("kite.jpg"));
  int shared_boxes = 0;
  for (std::size_t i = 0; i + 1 < found.size(); ++i) {
    for (std::size_t j = i + 1; j < found.size(); ++j) {
      if (found[i].box.left == found[j].box.left && found[i].box.top == found[j].box.top) {
        CHECK(found[i].class_id != found[j].class_id);
        ++shared_boxes;
      }
    }
  }
  CHECK(shared_boxes >= 1);  // kite.jpg has a box that is both person and kite
}

TEST_CASE("pixel buffers (RGB, BGR, padded rows) give the same detections as the file") {
  const Detector detector(kCfg, kWeights);
  const Image image = load_image(test::darknet_data("dog.jpg"));
  const std::vector<Detection> expected = detector.detect(image);
  const int stride = image.w * 3 + 5;
  std::vector<unsigned char> rgb(static_cast<std::size_t>(stride * image.h));
  std::vector<unsigned char> bgr(rgb.size());
  const std::size_t plane = static_cast<std::size_t>(image.w * image.h);
  for (int y = 0; y < image.h; ++y) {
    for (int x = 0; x < image.w; ++x) {
      for (int k = 0; k < 3; ++k) {
        const auto v = static_cast<unsigned char>(
            std::lround(image.data[static_cast<std::size_t>(k) * plane + static_cast<std::size_t>(y * image.w + x)] * 255));
        rgb[static_cast<std::size_t>(y * stride + 3 * x + k)] = v;
        bgr[static_cast<std::size_t>(y * stride + 3 * x + 2 - k)] = v;
      }
    }
  }
  CHECK(test::identical_detections(detector.detect(rgb.data(), image.w, image.h, stride, PixelFormat::RGB), expected));
  CHECK(test::identical_detections(detector.detect(bgr.data(), image.w, image.h, stride, PixelFormat::BGR), expected));
  CHECK_THROWS_WITH_AS(detector.detect(rgb.data(), image.w, image.h, 10, PixelFormat::RGB),
                       doctest::Contains("stride of at least 3 x width"), Error);
}

TEST_CASE("detect from 4 threads on one Detector equals sequential detection") {
  const Detector detector(kCfg, kWeights, DetectorOptions{});
  const std::vector<std::string> images = {"dog.jpg", "kite.jpg", "horses.jpg", "person.jpg"};
  std::vector<std::vector<Detection>> sequential;
  for (const std::string& name : images) sequential.push_back(detector.detect(test::darknet_data(name)));
  std::vector<std::vector<Detection>> parallel(images.size() * 3);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < parallel.size(); i += 4) {
        parallel[i] = detector.detect(test::darknet_data(images[i % images.size()]));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (std::size_t i = 0; i < parallel.size(); ++i) CHECK(test::identical_detections(parallel[i], sequential[i % images.size()]));
}

TEST_CASE("labels come from the names file; detectors refuse graphs without heads") {
  DetectorOptions options;
  options.labels = load_labels(test::shared("models/coco.names"));
  REQUIRE(options.labels.size() == 80);
  CHECK(options.labels[16] == "dog");
  const Detector detector(kCfg, kWeights, options);
  bool found_dog = false;
  for (const Detection& d : detector.detect(test::darknet_data("dog.jpg"))) found_dog |= d.label == "dog";
  CHECK(found_dog);

  const Graph graph = build_graph(parse_cfg("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=2\n", "h.cfg"));
  CHECK_THROWS_WITH_AS(Detector(Network(graph, random_weights(graph, 1)), DetectorOptions{}),
                       "h.cfg has no [yolo], [Gaussian_yolo] or [region] layer, so it cannot detect objects", Error);
}
