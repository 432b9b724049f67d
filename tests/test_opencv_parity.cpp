// Every public cfg, with seeded random weights from dusk's own writer, gives
// the same head-feeding convolution outputs as OpenCV DNN's Darknet importer.
// Variances lie in [0.5, 2], far above either BN epsilon (dusk 1e-5, OpenCV 1e-6).
#include <doctest/doctest.h>

#include <random>

#include "dusk/dusk.hpp"
#include "support/compare.hpp"
#include "support/fixtures.hpp"
#include "support/opencv_oracle.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

constexpr int kSide = 256;

void check_heads_against_opencv(const std::string& cfg_path) {
  const Graph graph = load_graph(cfg_path, GraphOptions{kSide, kSide});
  const Weights weights = random_weights(graph, 20261128);
  test::TempDir dir;
  const std::string weights_path = dir.file("random.weights");
  write_weights(weights_path, graph, weights);

  std::vector<int> feeding;
  for (const int head : graph.head_layers()) feeding.push_back(graph.layers[static_cast<std::size_t>(head)].inputs.front());
  REQUIRE(!feeding.empty());

  Tensor input(graph.input);
  std::mt19937 engine(7);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  for (float& v : input.data) v = unit(engine);

  const Network network(graph, weights, NetworkOptions{0, 0, 0, Backend::Reference});
  const std::vector<Tensor> ours = network.forward(input, feeding);
  const auto theirs = test::opencv_layer_outputs(cfg_path, weights_path, graph, input.data, feeding);
  for (std::size_t i = 0; i < feeding.size(); ++i) {
    const test::Difference d = test::compare(ours[i].data, theirs.at(feeding[i]));
    MESSAGE(graph.describe(feeding[i]) << " " << to_string(ours[i].shape) << ": " << test::describe(d));
    CHECK(d.max_abs <= 1e-3 * d.max_magnitude);
  }
}

}  // namespace

#define OPENCV_PARITY_CASE(dir, file) \
  TEST_CASE("opencv parity: " file) { check_heads_against_opencv(test::shared(dir "/" file)); }

OPENCV_PARITY_CASE("models", "yolo-fastest-1.1.cfg")
OPENCV_PARITY_CASE("cfg", "yolov2-tiny.cfg")
OPENCV_PARITY_CASE("cfg", "yolov2.cfg")
OPENCV_PARITY_CASE("cfg", "yolov3-tiny.cfg")
OPENCV_PARITY_CASE("cfg", "yolov3-tiny-prn.cfg")
OPENCV_PARITY_CASE("cfg", "yolov3.cfg")
OPENCV_PARITY_CASE("cfg", "yolov3-spp.cfg")
OPENCV_PARITY_CASE("cfg", "yolov4-tiny.cfg")
OPENCV_PARITY_CASE("cfg", "yolov4.cfg")
OPENCV_PARITY_CASE("cfg", "yolov4-csp.cfg")
OPENCV_PARITY_CASE("cfg", "yolov4x-mish.cfg")
OPENCV_PARITY_CASE("cfg", "yolov7-tiny.cfg")
OPENCV_PARITY_CASE("cfg", "yolov7.cfg")
OPENCV_PARITY_CASE("cfg", "enet-coco.cfg")

TEST_CASE("opencv parity: layer-mix.cfg") { check_heads_against_opencv(test::project("cfg/layer-mix.cfg")); }

namespace {

// `dusk fold` output, run by OpenCV, against dusk on the original pair.
void check_fold_against_opencv(const std::string& cfg_path, const std::string& weights_path, const Tensor& input) {
  test::TempDir dir;
  const std::string folded_cfg = dir.file("folded.cfg");
  const std::string folded_weights = dir.file("folded.weights");
  const auto result = test::run_command(test::kDuskBinary + " fold " + cfg_path + " " + weights_path + " " +
                                        folded_cfg + " " + folded_weights);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);

  const Graph graph = load_graph(cfg_path);
  const Graph folded = load_graph(folded_cfg);
  for (const Layer& layer : folded.layers) {
    if (layer.kind == LayerKind::Convolutional) CHECK_FALSE(layer.as<ConvSpec>().batch_normalize);
  }
  std::vector<int> feeding;
  for (const int head : graph.head_layers()) feeding.push_back(graph.layers[static_cast<std::size_t>(head)].inputs.front());
  const Network original(graph, read_weights(weights_path, graph), NetworkOptions{0, 0, 0, Backend::Reference});
  const std::vector<Tensor> ours = original.forward(input, feeding);
  const auto theirs = test::opencv_layer_outputs(folded_cfg, folded_weights, folded, input.data, feeding);
  for (std::size_t i = 0; i < feeding.size(); ++i) {
    const test::Difference d = test::compare(ours[i].data, theirs.at(feeding[i]));
    MESSAGE("folded " << graph.describe(feeding[i]) << ": " << test::describe(d));
    CHECK(d.max_abs <= 1e-4 * d.max_magnitude);
  }
}

}  // namespace

TEST_CASE("opencv runs dusk fold's output: yolo-fastest-1.1 with its real weights on dog.jpg") {
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const Graph graph = load_graph(cfg);
  Tensor input(graph.input);
  input.data = resize_image(load_image(test::darknet_data("dog.jpg")), graph.input.w, graph.input.h).data;
  check_fold_against_opencv(cfg, test::shared("models/yolo-fastest-1.1.weights"), input);
}

TEST_CASE("opencv runs dusk fold's output: yolov4-tiny with seeded random weights") {
  const std::string cfg = test::shared("cfg/yolov4-tiny.cfg");
  const Graph graph = load_graph(cfg);
  test::TempDir dir;
  const std::string weights = dir.file("random.weights");
  write_weights(weights, graph, random_weights(graph, 77));
  Tensor input(graph.input);
  std::mt19937 engine(3);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  for (float& v : input.data) v = unit(engine);
  check_fold_against_opencv(cfg, weights, input);
}
