// Darknet itself as the oracle: Debian's darknet package (pjreddie's line)
// runs Yolo-Fastest's real weights, loads dusk's folded pair and writes
// backbone files with `partial`. Its BatchNorm puts eps outside the square
// root, so its percentages may differ from Darknet AlexeyAB's (and dusk's)
// by one point; labels and counts must agree exactly.
#include <doctest/doctest.h>

#include <algorithm>
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
