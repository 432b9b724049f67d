// The dusk binary, end to end: dumps, exit codes and one-line errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

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

TEST_CASE("library errors name options; the command line shows its flags instead") {
  const auto memory = dusk_run("forward " + test::shared("cfg/yolov4-tiny.cfg") + " - --size 4096x4096 --max-memory 256");
  CHECK(memory.exit_code == 1);
  CHECK(memory.err.find("raise the limit (--max-memory MiB)") != std::string::npos);
  CHECK(memory.err.find("NetworkOptions") == std::string::npos);
  test::TempDir dir;
  const auto size = dusk_run("inspect " + dir.write("nosize.cfg", "[net]\nchannels=3\n[convolutional]\nfilters=4\n"));
  CHECK(size.err.find("give the input size (--size WxH)") != std::string::npos);
}

TEST_CASE("dusk detect prints Darknet's lines, writes its JSON and annotated copies") {
  test::TempDir dir;
  const std::string dog = test::darknet_data("dog.jpg");
  const auto result = dusk_run("detect " + kCfg + " " + kWeights + " " + dog + " --names " +
                               test::shared("models/coco.names") + " --json " + dir.file("out.json") + " --out-dir " +
                               dir.file("annotated"));
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("dog: 65%\t(left_x:  122   top_y:  222   width:  244   height:  295)\n") != std::string::npos);
  CHECK(result.out.find("car: 88%\t(left_x:  454   top_y:   78   width:  230   height:  102)\n") != std::string::npos);
  CHECK(result.err.find("dusk: 1 image, 7 detections, 0 failed") != std::string::npos);

  const auto bytes = test::read_bytes(dir.file("out.json"));
  const nlohmann::json json = nlohmann::json::parse(bytes.begin(), bytes.end());
  REQUIRE(json.is_array());
  REQUIRE(json.size() == 1);
  CHECK(json[0]["frame_id"] == 1);
  CHECK(json[0]["filename"] == dog);
  REQUIRE(json[0]["objects"].size() == 7);
  bool found_dog = false;
  for (const auto& object : json[0]["objects"]) {
    CHECK(object["class_id"].is_number_integer());
    CHECK(object["confidence"].is_number());
    for (const char* key : {"center_x", "center_y", "width", "height"}) {
      CHECK(object["relative_coordinates"][key].get<double>() > -0.5);
      CHECK(object["relative_coordinates"][key].get<double>() < 1.5);
    }
    if (object["name"] == "dog") {
      found_dog = true;
      CHECK(object["class_id"] == 16);
      CHECK(object["confidence"].get<double>() == doctest::Approx(0.649256).epsilon(1e-4));
      CHECK(object["relative_coordinates"]["center_x"].get<double>() == doctest::Approx((121.558 + 243.53 / 2) / 768).epsilon(1e-3));
    }
  }
  CHECK(found_dog);

  const Image original = load_image(dog);
  const Image annotated = load_image(dir.file("annotated/dog.jpg"));
  REQUIRE(annotated.w == original.w);
  REQUIRE(annotated.h == original.h);
  // The dog's box edge (left x = 121, rows 222..516) is drawn; the far corner is not.
  const auto differs = [&](int x, int y) {
    float diff = 0;
    for (int k = 0; k < 3; ++k) diff += std::fabs(annotated.at(x, y, k) - original.at(x, y, k));
    return diff > 0.3f;
  };
  CHECK(differs(122, 400));
  CHECK_FALSE(differs(760, 570));
}

TEST_CASE("dusk detect carries on past broken images and says so in its exit code") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("in"));
  std::filesystem::copy_file(test::darknet_data("dog.jpg"), dir.file("in/a_dog.jpg"));
  const auto jpeg = test::read_bytes(test::darknet_data("eagle.jpg"));
  dir.write_bytes("in/b_truncated.jpg", std::vector<char>(jpeg.begin(), jpeg.begin() + 300));
  dir.write("in/c_text.png", "this is not a picture\n");
  std::filesystem::copy_file(test::darknet_data("person.jpg"), dir.file("in/d_person.jpg"));
  dir.write("in/notes.txt", "ignored: not an image extension\n");
  const auto result = dusk_run("detect " + kCfg + " " + kWeights + " " + dir.file("in") + " " + dir.file("missing.jpg") +
                               " --json " + dir.file("out.json"));
  CHECK(result.exit_code == 1);
  CHECK(result.out.find("a_dog.jpg: Predicted") != std::string::npos);
  CHECK(result.out.find("d_person.jpg: Predicted") != std::string::npos);
  CHECK(result.err.find("b_truncated.jpg") != std::string::npos);
  CHECK(result.err.find("c_text.png: not a readable image") != std::string::npos);
  CHECK(result.err.find("missing.jpg: no such file") != std::string::npos);
  CHECK(result.err.find("dusk: 5 images,") != std::string::npos);
  CHECK(result.err.find(" 3 failed,") != std::string::npos);
  const auto bytes = test::read_bytes(dir.file("out.json"));
  CHECK(nlohmann::json::parse(bytes.begin(), bytes.end()).size() == 2);
}

TEST_CASE("dusk detect never writes beside or over its inputs") {
  test::TempDir dir;
  const std::string image = dir.file("dog.jpg");
  std::filesystem::copy_file(test::darknet_data("dog.jpg"), image);
  auto result = dusk_run("detect " + kCfg + " " + kWeights + " " + image + " --out-dir " + dir.path().string());
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("annotated copies never go beside their inputs") != std::string::npos);
  result = dusk_run("detect " + kCfg + " " + kWeights + " " + image + " --json " + image);
  CHECK(result.exit_code == 2);
  CHECK(test::read_bytes(image) == test::read_bytes(test::darknet_data("dog.jpg")));
  result = dusk_run("detect " + kCfg + " " + kWeights + " " + image + " --thresh 1.5");
  CHECK(result.exit_code == 2);
}

TEST_CASE("usage errors are one dusk: error line with a suggestion; --version") {
  struct Case {
    std::string args;
    std::string line;
  };
  const std::vector<Case> cases = {
      {"detec", "dusk: error: unknown command 'detec'; did you mean detect? Commands: detect, forward, inspect"},
      {"", "dusk: error: no command given; use one of detect, forward"},
      {"detect a.cfg b.weights c.jpg --thersh 0.3",
       "dusk: error: dusk detect: unknown option --thersh; did you mean --thresh? (dusk detect --help lists them)"},
      {"detect a.cfg b.weights c.jpg --tresh=0.3", "dusk: error: dusk detect: unknown option --tresh; did you mean --thresh?"},
      {"bench a.cfg b.weights --frobnicate", "dusk: error: dusk bench: unknown option --frobnicate (dusk bench --help"},
      {"detect a.cfg b.weights c.jpg --thresh 2", "dusk: error: dusk detect: --thresh: Value 2 not in range"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    const auto result = dusk_run(c.args);
    CHECK(result.exit_code == 2);
    CHECK(result.err.rfind(c.line, 0) == 0);
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  }
  // Mistakes in the files given: a misspelt cfg key, swapped files, a names file as weights.
  test::TempDir dir;
  std::string cfg_text;
  {
    const std::vector<char> bytes = test::read_bytes(kCfg);
    cfg_text.assign(bytes.begin(), bytes.end());
  }
  const std::size_t at = cfg_text.find("activation=");
  REQUIRE(at != std::string::npos);
  const std::string typo = dir.write("typo.cfg", cfg_text.substr(0, at) + "activaton=" + cfg_text.substr(at + 11));
  const std::string names = test::shared("models/coco.names");
  const std::vector<Case> files = {
      {"detect " + typo + " " + kWeights + " c.jpg", "unknown key 'activaton'; did you mean activation=?"},
      {"detect " + kWeights + " " + kCfg + " c.jpg", "is a Darknet .weights file (version 0.2.5), not a cfg; did you swap them?"},
      {"inspect " + kCfg + " " + names, "is a text file (it starts with 'person'), not Darknet weights; give the .weights file"},
  };
  for (const Case& c : files) {
    CAPTURE(c.args);
    const auto result = dusk_run(c.args);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find(c.line) != std::string::npos);
    CHECK(result.err.rfind("dusk: error: ", 0) == 0);
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  }
  const auto version = dusk_run("--version");
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("dusk 0.", 0) == 0);
}

TEST_CASE("a directory holding a broken link: that image fails, the others run") {
  test::TempDir dir;
  namespace fs = std::filesystem;
  fs::create_directory(dir.file("images"));
  fs::create_symlink(dir.file("nowhere.jpg"), dir.file("images/broken.jpg"));
  fs::create_symlink(test::darknet_data("dog.jpg"), dir.file("images/dog.jpg"));
  const auto result = dusk_run("detect " + kCfg + " " + kWeights + " " + dir.file("images"));
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("broken.jpg: no such file") != std::string::npos);
  CHECK(result.out.find("dog: 65%") != std::string::npos);
  CHECK(result.err.find("dusk: 2 images, 7 detections, 1 failed") != std::string::npos);
}
