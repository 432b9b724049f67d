// dusk inspect, fold, diff and partial, end to end through the binary.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "dusk/dusk.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

test::CommandResult dusk_run(const std::string& args) { return test::run_command(test::kDuskBinary + " " + args); }

nlohmann::json inspect_json(const std::string& args) {
  const auto result = dusk_run("inspect --json " + args);
  INFO(result.err);
  return nlohmann::json::parse(result.out);
}

// A seeded random weights file for a shared cfg.
std::string random_file(const test::TempDir& dir, const std::string& cfg, std::uint64_t seed, const std::string& name) {
  const Graph graph = load_graph(test::shared(cfg));
  const std::string path = dir.file(name);
  write_weights(path, graph, random_weights(graph, seed));
  return path;
}

}  // namespace

TEST_CASE("inspect totals equal Darknet's: BFLOPs within 0.5%, parameters exact") {
  struct Case {
    const char* cfg;
    const char* size;
    double bflops;
    std::int64_t floats;
  };
  const Case cases[] = {
      {"cfg/yolov3-tiny.cfg", "416x416", 5.571, (35434956 - 20) / 4},
      {"cfg/yolov4-tiny.cfg", "416x416", 6.910, (24251276 - 20) / 4},
      {"cfg/yolov4.cfg", "608x608", 128.459, (257717640 - 20) / 4},
      {"models/yolo-fastest-1.1.cfg", "320x320", 0.252, 346062},
  };
  for (const Case& c : cases) {
    const nlohmann::json json = inspect_json(test::shared(c.cfg) + " --size " + c.size);
    INFO(c.cfg);
    CHECK(json["total_bflops"].get<double>() == doctest::Approx(c.bflops).epsilon(0.005));
    CHECK(json["total_params"].get<std::int64_t>() == c.floats);
    CHECK(json["expected_floats"].get<std::int64_t>() == c.floats);
    CHECK(json["verdict"]["status"] == "no_weights");
    CHECK(json["header"].is_null());
  }
}

TEST_CASE("inspect of real weights: header, per-layer rows, BatchNorm statistics, verdict") {
  const auto result = dusk_run("inspect " + test::shared("models/yolo-fastest-1.1.cfg") + " " +
                               test::shared("models/yolo-fastest-1.1.weights"));
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("version 0.2.5, seen 14231680 images (64-bit)") != std::string::npos);
  CHECK(result.out.find("   0  convolutional  3x320x320    -> 8x160x160    3x3/2       leaky           248    0.011  "
                        "20..1012") != std::string::npos);
  CHECK(result.out.find("verdict: the file fits the cfg exactly (1384268 bytes)") != std::string::npos);

  const nlohmann::json json = inspect_json(test::shared("models/yolo-fastest-1.1.cfg") + " " +
                                           test::shared("models/yolo-fastest-1.1.weights"));
  CHECK(json["header"]["major"] == 0);
  CHECK(json["header"]["minor"] == 2);
  CHECK(json["header"]["seen"] == 14231680);
  CHECK(json["header"]["transposed"] == false);
  CHECK(json["file_floats"] == 346062);
  REQUIRE(json["layers"].size() == 131);
  const auto& first = json["layers"][0];
  CHECK(first["type"] == "convolutional");
  CHECK(first["bytes"] == nlohmann::json::array({20, 1012}));
  CHECK(first["batchnorm"]["variance"]["min"].get<double>() > 0);
  CHECK(first["flags"]["non_finite"] == 0);
  CHECK(json["layers"][2]["kernel"]["groups"] == 8);
  CHECK(json["verdict"]["status"] == "fits");
}

TEST_CASE("inspect flags NaN, zero filters, dead channels and near-zero variances") {
  test::TempDir dir;
  const Graph graph = load_graph(test::shared("cfg/yolov3-tiny.cfg"));
  Weights weights = random_weights(graph, 5);
  LayerParams& conv = weights.layers[2];
  conv.weights[3] = NAN;
  std::fill(conv.weights.end() - 16 * 9 * 2, conv.weights.end(), 0.0f);  // the last two filters (16x3x3 each)
  conv.scales[1] = 0;
  conv.variance[4] = 1e-7f;
  write_weights(dir.file("odd.weights"), graph, weights);
  const nlohmann::json json = inspect_json(test::shared("cfg/yolov3-tiny.cfg") + " " + dir.file("odd.weights"));
  const auto& flags = json["layers"][2]["flags"];
  CHECK(flags["non_finite"] == 1);
  CHECK(flags["zero_filters"] == 2);
  CHECK(flags["dead_channels"] == 1);
  CHECK(json["layers"][2]["batchnorm"]["near_zero_variances"] == 1);
}

TEST_CASE("inspect: a file cut at 60% fails naming the layer; extra bytes are counted") {
  test::TempDir dir;
  const std::string cfg = test::shared("cfg/yolov4-tiny.cfg");
  const std::string full = random_file(dir, "cfg/yolov4-tiny.cfg", 1, "full.weights");
  const std::vector<char> bytes = test::read_bytes(full);
  const std::string cut = dir.write_bytes("cut.weights", std::vector<char>(bytes.begin(), bytes.begin() + bytes.size() * 6 / 10));
  auto result = dusk_run("inspect " + cfg + " " + cut);
  CHECK(result.exit_code == 1);
  CHECK(result.out.find("verdict: the file is short: it runs out in layer 27 [convolutional]") != std::string::npos);
  CHECK(result.out.find("missing") != std::string::npos);
  nlohmann::json json = inspect_json(cfg + " " + cut);
  CHECK(json["verdict"]["status"] == "short");
  CHECK(json["verdict"]["layer"] == 27);
  CHECK(json["verdict"]["missing_floats"] == (bytes.size() - bytes.size() * 6 / 10 + 3) / 4);

  std::vector<char> longer = bytes;
  longer.resize(bytes.size() + 40, 0);
  const std::string extra = dir.write_bytes("extra.weights", longer);
  result = dusk_run("inspect " + cfg + " " + extra);
  CHECK(result.exit_code == 1);
  CHECK(result.out.find("verdict: the file has 40 bytes after the last layer's parameters") != std::string::npos);
  json = inspect_json(cfg + " " + extra);
  CHECK(json["verdict"]["trailing_bytes"] == 40);
  // Loading it for detection warns with the count but goes on.
  result = dusk_run("forward " + cfg + " " + extra + " --size 64x64");
  CHECK(result.exit_code == 0);
  CHECK(result.err.find("40 bytes after the last layer's parameters") != std::string::npos);
}

TEST_CASE("diff: a file with itself is identical; two seeds differ in every layer") {
  test::TempDir dir;
  const std::string cfg = test::shared("cfg/yolov3-tiny.cfg");
  const std::string a = random_file(dir, "cfg/yolov3-tiny.cfg", 1, "a.weights");
  const std::string b = random_file(dir, "cfg/yolov3-tiny.cfg", 2, "b.weights");
  auto result = dusk_run("diff " + cfg + " " + a + " " + a);
  CHECK(result.exit_code == 0);
  CHECK(result.out == "identical: all 13 layers with parameters are equal, bit for bit\n");
  result = dusk_run("diff " + cfg + " " + a + " " + b);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("13 of 13 layers with parameters differ") != std::string::npos);
  for (const char* layer : {"    0  convolutional", "   22  convolutional"}) {
    CHECK(result.out.find(layer) != std::string::npos);
  }
  // One changed weight is found and ranked first.
  const Graph graph = load_graph(cfg);
  Weights changed = read_weights(a, graph);
  changed.layers[8].weights[7] *= 3;
  write_weights(dir.file("c.weights"), graph, changed);
  result = dusk_run("diff " + cfg + " " + a + " " + dir.file("c.weights"));
  CHECK(result.out.find("1 of 13 layers with parameters differ") != std::string::npos);
  CHECK(result.out.find("    8  convolutional  weights") != std::string::npos);
  CHECK(result.out.find("1/") != std::string::npos);
}

TEST_CASE("partial writes the first N layers with a fresh header Darknet accepts") {
  test::TempDir dir;
  const std::string cfg = test::shared("cfg/yolov3-tiny.cfg");
  const std::string full = random_file(dir, "cfg/yolov3-tiny.cfg", 3, "full.weights");
  const auto result = dusk_run("partial " + cfg + " " + full + " " + dir.file("backbone.weights") + " 15");
  INFO(result.err);
  CHECK(result.exit_code == 0);
  const Graph graph = load_graph(cfg);
  std::int64_t floats = 0;
  for (int i = 0; i < 15; ++i) floats += graph.layers[static_cast<std::size_t>(i)].param_count;
  CHECK(std::filesystem::file_size(dir.file("backbone.weights")) == 20 + static_cast<std::uintmax_t>(floats) * 4);
  WeightsFit fit;
  const Weights backbone = read_weights_partial(dir.file("backbone.weights"), graph, fit);
  CHECK(backbone.header.major == 0);
  CHECK(backbone.header.minor == 2);
  CHECK(backbone.header.seen == 0);
  CHECK(fit.first_incomplete_layer == 15);
  CHECK(backbone.layers[13].weights == read_weights(full, graph).layers[13].weights);
  CHECK(dusk_run("partial " + cfg + " " + full + " " + dir.file("x.weights") + " 0").exit_code == 2);
  CHECK(dusk_run("partial " + cfg + " " + full + " " + full + " 3").exit_code == 2);
}

TEST_CASE("fold refuses to overwrite its inputs") {
  test::TempDir dir;
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const std::string weights = test::shared("models/yolo-fastest-1.1.weights");
  const auto result = dusk_run("fold " + cfg + " " + weights + " " + cfg + " " + dir.file("w"));
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("dusk never overwrites its inputs") != std::string::npos);
}
