// Darknet itself as the oracle: Debian's darknet package (pjreddie's line)
// runs Yolo-Fastest's real weights, loads dusk's folded pair and writes
// backbone files with `partial`. Its BatchNorm puts eps outside the square
// root, so its percentages may differ from Darknet AlexeyAB's (and dusk's)
// by one point; labels and counts must agree exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "dusk/dusk.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

const std::string kDarknet = "/usr/bin/darknet";
const std::string kCfg = test::shared("models/yolo-fastest-1.1.cfg");
const std::string kWeights = test::shared("models/yolo-fastest-1.1.weights");

// "label: NN%" lines, sorted.
std::vector<std::string> percent_lines(const std::string& output) {
  std::vector<std::string> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    const std::size_t percent = line.find('%');
    if (percent != std::string::npos && line.find(": ") != std::string::npos) lines.push_back(line.substr(0, percent + 1));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Darknet's detector test, run where it finds its label images and writes
// its picture into a directory of ours (-out: no window).
std::vector<std::string> darknet_detect(const test::TempDir& dir, const std::string& cfg, const std::string& weights,
                                        const std::string& image) {
  std::filesystem::create_directory_symlink(test::kDarknetDir + "/data", dir.file("data"));
  const auto result = test::run_command("cd " + dir.path().string() + " && timeout 300 " + kDarknet +
                                        " detector test " + test::kDarknetDir + "/cfg/coco.data " + cfg + " " +
                                        weights + " " + image + " -thresh 0.25 -out predictions");
  std::filesystem::remove(dir.file("data"));
  REQUIRE(result.exit_code == 0);
  return percent_lines(result.out);
}

std::vector<std::string> dusk_detect(const std::string& cfg, const std::string& weights, const std::string& image) {
  const auto result = test::run_command(test::kDuskBinary + " detect " + cfg + " " + weights + " " + image +
                                        " --letterbox --names " + test::darknet_data("coco.names"));
  REQUIRE(result.exit_code == 0);
  return percent_lines(result.out);
}

// Same labels, each percentage within one point.
void check_same_detections(const std::vector<std::string>& darknet, const std::vector<std::string>& dusk) {
  std::multimap<std::string, int> expected;
  for (const std::string& line : darknet) {
    const std::size_t colon = line.rfind(": ");
    expected.emplace(line.substr(0, colon), std::stoi(line.substr(colon + 2)));
  }
  REQUIRE(dusk.size() == darknet.size());
  for (const std::string& line : dusk) {
    const std::size_t colon = line.rfind(": ");
    const std::string label = line.substr(0, colon);
    const int percent = std::stoi(line.substr(colon + 2));
    auto [first, last] = expected.equal_range(label);
    auto match = std::find_if(first, last, [&](const auto& entry) { return std::abs(entry.second - percent) <= 1; });
    INFO(line);
    REQUIRE(match != last);
    expected.erase(match);
  }
}

}  // namespace

TEST_CASE("Darknet and dusk find the same objects in every sample image") {
  if (!std::filesystem::exists(kDarknet)) {
    MESSAGE("no " << kDarknet << " (Debian package darknet): skipped");
    return;
  }
  for (const char* name : {"dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg", "person.jpg"}) {
    test::TempDir dir;
    INFO(name);
    const std::string image = test::darknet_data(name);
    check_same_detections(darknet_detect(dir, kCfg, kWeights, image), dusk_detect(kCfg, kWeights, image));
  }
}

TEST_CASE("Darknet loads dusk fold's output and finds the same objects") {
  if (!std::filesystem::exists(kDarknet)) return;
  test::TempDir dir;
  const auto folded = test::run_command(test::kDuskBinary + " fold " + kCfg + " " + kWeights + " " +
                                        dir.file("folded.cfg") + " " + dir.file("folded.weights"));
  REQUIRE(folded.exit_code == 0);
  const std::string image = test::darknet_data("horses.jpg");
  check_same_detections(darknet_detect(dir, dir.file("folded.cfg"), dir.file("folded.weights"), image),
                        dusk_detect(kCfg, kWeights, image));
}

TEST_CASE("dusk partial writes what Darknet's partial writes") {
  if (!std::filesystem::exists(kDarknet)) return;
  test::TempDir dir;
  const std::string cfg = test::shared("cfg/yolov3-tiny.cfg");
  const Graph graph = load_graph(cfg);
  write_weights(dir.file("full.weights"), graph, random_weights(graph, 11));
  const auto ours = test::run_command(test::kDuskBinary + " partial " + cfg + " " + dir.file("full.weights") + " " +
                                      dir.file("ours.weights") + " 13");
  const auto theirs = test::run_command(kDarknet + " partial " + cfg + " " + dir.file("full.weights") + " " +
                                        dir.file("theirs.weights") + " 13");
  REQUIRE(ours.exit_code == 0);
  REQUIRE(theirs.exit_code == 0);
  const std::vector<char> a = test::read_bytes(dir.file("ours.weights"));
  const std::vector<char> b = test::read_bytes(dir.file("theirs.weights"));
  REQUIRE(a.size() == b.size());
  // Headers differ only in the revision (dusk writes AlexeyAB's 0.2.5,
  // Debian's Darknet 0.2.0); every parameter is the same.
  CHECK(std::equal(a.begin(), a.begin() + 8, b.begin()));
  CHECK(std::equal(a.begin() + 12, a.end(), b.begin() + 12));
}

namespace {

// A classifier that starts with [crop] (centre window, values mapped to
// 2v - 1) and adds shortcut sources of other sizes: layer 1 (64x64) into a
// 32x32 output with stride 2, and layer 5 (16x16) into a 32x32 output every
// second cell. No BatchNorm, so Darknet's epsilon placement plays no part.
const char* const kCropShortcutCfg = R"([net]
width=72
height=72
channels=3

[crop]
crop_width=64
crop_height=64
flip=0
angle=0
saturation=1
exposure=1

[convolutional]
filters=8
size=3
stride=1
pad=1
activation=leaky

[convolutional]
filters=16
size=3
stride=2
pad=1
activation=leaky

[convolutional]
filters=16
size=1
stride=1
activation=leaky

[shortcut]
from=-3
activation=linear

[convolutional]
filters=24
size=3
stride=2
pad=1
activation=leaky

[route]
layers=4

[convolutional]
filters=32
size=1
stride=1
activation=linear

[shortcut]
from=5
activation=leaky

[convolutional]
filters=10
size=1
stride=1
activation=linear

[avgpool]

[softmax]
groups=1
)";

}  // namespace

TEST_CASE("[crop] and [shortcut] between sizes compute what Darknet computes") {
  test::TempDir dir;
  const std::string cfg = dir.write("crop-shortcut.cfg", kCropShortcutCfg);
  const Graph graph = load_graph(cfg);
  const Weights weights = random_weights(graph, 20261203);
  write_weights(dir.file("random.weights"), graph, weights);
  std::string labels;
  for (int k = 0; k < 10; ++k) labels += "class" + std::to_string(k) + "\n";
  dir.write("labels.txt", labels);
  const std::string data = dir.write("classes.data", "classes=10\nnames=" + dir.file("labels.txt") + "\ntop=5\n");

  // The network's own size, so Darknet's letterbox copies the pixels unchanged.
  const Image dog = load_image(test::darknet_data("dog.jpg"));
  Image window(graph.input.w, graph.input.h, 3);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < window.h; ++y) {
      for (int x = 0; x < window.w; ++x) window.at(x, y, c) = dog.at(x + 120, y + 200, c);
    }
  }
  const std::string image = dir.file("window.png");
  save_image(window, image, ImageFormat::Png);

  const auto result = test::run_command("timeout 300 " + kDarknet + " classifier predict " + data + " " + cfg + " " +
                                        dir.file("random.weights") + " " + image);
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);

  Tensor input(graph.input);
  input.data = load_image(image).data;
  const int softmax = static_cast<int>(graph.layers.size()) - 1;
  const std::vector<float> ours = Network(graph, weights).forward(input, {softmax}).front().data;
  int compared = 0;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t name = line.find("%: class");
    if (name == std::string::npos) continue;
    const double percent = std::stod(line.substr(0, name));
    const int k = std::stoi(line.substr(name + 8));
    INFO(line);
    CHECK(std::fabs(100.0 * ours[static_cast<std::size_t>(k)] - percent) <= 0.011);  // printed to 0.01 points
    ++compared;
  }
  CHECK(compared == 5);
}
