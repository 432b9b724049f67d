// The dusk binary, end to end: dumps, exit codes and one-line errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "dusk/dusk.hpp"
#include "support/compare.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

const std::string kCfg = test::shared("models/yolo-fastest-1.1.cfg");
const std::string kWeights = test::shared("models/yolo-fastest-1.1.weights");

test::CommandResult dusk_run(const std::string& args) { return test::run_command(test::kDuskBinary + " " + args); }

int count_lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

TEST_CASE("dusk forward dumps the yolo layers Darknet computed") {
  test::TempDir dir;
  const auto result =
      dusk_run("forward " + kCfg + " " + kWeights + " --input " + test::darknet_data("dog.jpg") + " --dump " +
               dir.file("dump"));
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("layer  121 yolo") != std::string::npos);
  for (const char* name : {"layer121_255x10x10.f32", "layer130_255x20x20.f32"}) {
    const auto ours = test::read_floats(dir.file("dump/") + name);
    const auto darknet = test::read_floats(test::shared("reference/yolo-fastest-1.1_dog.jpg_lb0_") + name);
    const test::Difference d = test::compare(ours, darknet);
    INFO(name << ": " << test::describe(d));
    CHECK(d.max_abs <= 1e-4);
  }
}

TEST_CASE("dusk forward takes a raw float32 tensor and any list of layers") {
  test::TempDir dir;
  const Image image = resize_image(load_image(test::darknet_data("dog.jpg")), 320, 320);
  std::vector<char> raw(image.data.size() * sizeof(float));
  std::memcpy(raw.data(), image.data.data(), raw.size());
  const std::string input = dir.write_bytes("dog.f32", raw);
  const auto result = dusk_run("forward " + kCfg + " " + kWeights + " --input " + input + " --layers 0,121 --dump " +
                               dir.file("d") + " --threads 1");
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(std::filesystem::exists(dir.file("d/layer0_8x160x160.f32")));
  const auto ours = test::read_floats(dir.file("d/layer121_255x10x10.f32"));
  const auto darknet = test::read_floats(test::shared("reference/yolo-fastest-1.1_dog.jpg_lb0_layer121_255x10x10.f32"));
  CHECK(test::compare(ours, darknet).max_abs <= 1e-4);

  const auto all = dusk_run("forward " + kCfg + " - --size 64x64 --layers all");
  REQUIRE(all.exit_code == 0);
  CHECK(count_lines(all.out) == 1 + 131);
}

TEST_CASE("dusk forward errors: one line, exit 1 for bad input, exit 2 for bad usage") {
  test::TempDir dir;
  auto result = dusk_run("forward " + dir.file("nope.cfg") + " " + kWeights);
  CHECK(result.exit_code == 1);
  CHECK(result.err == "dusk: error: cannot open cfg file " + dir.file("nope.cfg") + ": no such file; check the path\n");

  const std::string short_weights = dir.write_bytes("short.weights", std::vector<char>(1000, 0));
  result = dusk_run("forward " + kCfg + " " + short_weights);
  CHECK(result.exit_code == 1);
  CHECK(count_lines(result.err) == 1);
  CHECK(result.err.find("short weights file: layer 0 [convolutional]") != std::string::npos);

  const std::string raw = dir.write_bytes("small.f32", std::vector<char>(12, 0));
  result = dusk_run("forward " + kCfg + " " + kWeights + " --input " + raw);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("raw input is 12 bytes but the network takes 3x320x320 floats = 1228800 bytes") !=
        std::string::npos);

  result = dusk_run("forward " + kCfg + " " + kWeights + " --input " + dir.write("fake.jpg", "not an image"));
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("fake.jpg: not a readable image") != std::string::npos);

  result = dusk_run("forward " + kCfg + " " + kWeights + " --size 320by320");
  CHECK(result.exit_code == 2);
  CHECK(result.err == "dusk: error: --size '320by320' is not WIDTHxHEIGHT; write it like 416x416\n");

  result = dusk_run("forward " + kCfg + " " + kWeights + " --size 300x300");
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("input size 300x300 is not a multiple of the network's stride 32; use e.g. 320x320") !=
        std::string::npos);

  result = dusk_run("forward " + kCfg + " " + kWeights + " --layers 7,500");
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("'500' is not a layer index") != std::string::npos);

  result = dusk_run("forward " + kCfg + " " + kWeights + " --frobnicate");
  CHECK(result.exit_code == 2);
  result = dusk_run("");
  CHECK(result.exit_code == 2);
}
