// `dusk export` against two runtimes that never saw dusk's code: ONNX
// Runtime (onnxruntime-node, installed by scripts/setup) and OpenCV 4.6's
// ONNX importer, both on the same input as `dusk forward`. Also the decode
// tail against the Detector's candidates, metadata, and refusals.
#include <doctest/doctest.h>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <immintrin.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>
#include <random>
#include <set>

#include "dusk/dusk.hpp"
#include "detect/candidates.hpp"
#include "dusk/export.hpp"
#include "engine/dnnl/fast_plan.hpp"
#include "dusk/cpu.hpp"
#include "export/onnx_builder.hpp"
#include "support/compare.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;
namespace fs = std::filesystem;

namespace {

constexpr int kSide = 128;  // every public cfg exports at this size; small enough for the ASan build

// Models whose export OpenCV 4.6 cannot import, with the reason; ONNX Runtime
// still checks them. Any other import failure fails the test.
const std::map<std::string, std::string> kOpenCvCannotImport = {
    {"yolov2.cfg", "its [reorg] is one Gather over the flattened tensor, which OpenCV 4.6 does not import"},
    {"layer-mix.cfg", "its [reorg] is one Gather over the flattened tensor, which OpenCV 4.6 does not import"},
    {"rare-kinds.cfg", "stair needs ONNX's Mod, which OpenCV 4.6 does not import"},
};

std::string shell_quote(const std::string& s) { return "'" + s + "'"; }

void write_floats(const std::string& path, const std::vector<float>& values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
  REQUIRE(out.good());
}

std::vector<std::int64_t> read_int64s(const std::string& path) {
  const std::vector<char> bytes = test::read_bytes(path);
  std::vector<std::int64_t> values(bytes.size() / sizeof(std::int64_t));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(std::int64_t));
  return values;
}

struct RuntimeOutput {
  std::vector<std::int64_t> dims;
  std::vector<float> floats;       // float32 outputs
  std::vector<std::int64_t> ints;  // int64 outputs
};

// Runs `model` in ONNX Runtime through tests/export/run_onnx.js.
std::map<std::string, RuntimeOutput> run_onnx_runtime(const std::string& model, const std::vector<float>& input, int n,
                                                      const Shape& shape, const std::string& optimized = "") {
  test::TempDir dir;
  write_floats(dir.file("input.f32"), input);
  const std::string command = "NODE_PATH=" + shell_quote(test::project(".deps/onnxruntime/node_modules")) + " node " +
                              shell_quote(test::project("tests/export/run_onnx.js")) + " " + shell_quote(model) + " " +
                              shell_quote(dir.file("input.f32")) + " " + std::to_string(n) + " " + std::to_string(shape.c) +
                              " " + std::to_string(shape.h) + " " + std::to_string(shape.w) + " " + shell_quote(dir.path().string()) +
                              (optimized.empty() ? "" : " " + shell_quote(optimized));
  const test::CommandResult result = test::run_command(command);
  INFO("ONNX Runtime runner (scripts/setup installs node and onnxruntime-node): " << result.err);
  REQUIRE(result.exit_code == 0);
  std::map<std::string, RuntimeOutput> outputs;
  const nlohmann::json printed = nlohmann::json::parse(result.out);
  for (const auto& [name, info] : printed.at("outputs").items()) {
    RuntimeOutput& out = outputs[name];
    out.dims = info.at("dims").get<std::vector<std::int64_t>>();
    if (info.at("type") == "int64") {
      out.ints = read_int64s(dir.file(name + ".i64"));
    } else {
      out.floats = test::read_floats(dir.file(name + ".f32"));
    }
  }
  return outputs;
}

std::vector<float> random_input(const Shape& shape, unsigned seed) {
  std::vector<float> values(static_cast<std::size_t>(shape.size()));
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  for (float& v : values) v = unit(engine);
  return values;
}

onnx::ModelProto read_model(const std::string& path) {
  const std::vector<char> bytes = test::read_bytes(path);
  onnx::ModelProto model;
  REQUIRE(model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  return model;
}

std::string metadata(const onnx::ModelProto& model, const std::string& key) {
  for (const auto& entry : model.metadata_props()) {
    if (entry.key() == key) return entry.value();
  }
  return {};
}

std::string head_output_name(const Layer& layer) {
  if (layer.kind == LayerKind::Region) return "region_" + std::to_string(layer.index);
  if (layer.kind == LayerKind::GaussianYolo) return "gaussian_yolo_" + std::to_string(layer.index);
  return "yolo_" + std::to_string(layer.index);
}

test::CommandResult dusk_export(const std::string& args) { return test::run_command(test::kDuskBinary + " export " + args); }

// Exports cfg + weights with the CLI, then runs the model in ONNX Runtime and
// OpenCV on one random input and compares each head with dusk's own forward.
void check_export(const std::string& cfg_path, const std::string& weights_arg, int side = kSide) {
  const std::string cfg_name = fs::path(cfg_path).filename().string();
  const Graph graph = load_graph(cfg_path, GraphOptions{side, side});
  test::TempDir dir;
  std::string weights_path = weights_arg;
  Weights weights;
  if (weights_arg.empty()) {
    weights = random_weights(graph, 20261203);
    weights_path = dir.file("random.weights");
    write_weights(weights_path, graph, weights);
  } else {
    weights = read_weights(weights_path, graph);
  }
  const std::string model_path = dir.file("model.onnx");
  const test::CommandResult exported = dusk_export(shell_quote(cfg_path) + " " + shell_quote(weights_path) + " " +
                                                   shell_quote(model_path) + " --size " + std::to_string(side) + "x" +
                                                   std::to_string(side));
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);

  // ONNX's own checker on the file as written (the exporter also runs it).
  const onnx::ModelProto model = read_model(model_path);
  CHECK_NOTHROW(onnx::checker::check_model(model));
  CHECK(metadata(model, "dusk.input") == std::to_string(side) + "x" + std::to_string(side));

  const std::vector<float> input = random_input(graph.input, 11);
  Tensor tensor(graph.input);
  tensor.data = input;
  const std::vector<int> heads = graph.head_layers();
  const Network network(graph, weights, NetworkOptions{});
  const std::vector<Tensor> ours = network.forward(tensor, heads);

  const auto runtime = run_onnx_runtime(model_path, input, 1, graph.input);
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const Layer& head = graph.layers[static_cast<std::size_t>(heads[i])];
    const std::string name = head_output_name(head);
    REQUIRE(runtime.count(name) == 1);
    const test::Difference d = test::compare(runtime.at(name).floats, ours[i].data);
    MESSAGE(cfg_name << " " << name << " " << to_string(head.out) << " ONNX Runtime: " << test::describe(d));
    CHECK(d.max_abs <= 1e-4 * d.max_magnitude);
  }

  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(model_path);
  } catch (const cv::Exception& error) {
    const auto known = kOpenCvCannotImport.find(cfg_name);
    INFO("OpenCV: " << std::string(error.what()));
    REQUIRE(known != kOpenCvCannotImport.end());
    MESSAGE(cfg_name << ": OpenCV " CV_VERSION " not compared: " << known->second << "; ONNX Runtime was");
    return;
  }
  const int dims[4] = {1, graph.input.c, graph.input.h, graph.input.w};
  cv::Mat blob(4, dims, CV_32F, const_cast<float*>(input.data()));
  net.setInput(blob);
  std::vector<cv::String> names;
  for (const int h : heads) names.push_back(head_output_name(graph.layers[static_cast<std::size_t>(h)]));
  std::vector<cv::Mat> theirs;
  net.forward(theirs, names);
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const cv::Mat& out = theirs[i];
    REQUIRE(out.isContinuous());
    REQUIRE(static_cast<std::int64_t>(out.total()) == static_cast<std::int64_t>(ours[i].data.size()));
    const test::Difference d =
        test::compare(reinterpret_cast<const float*>(out.data), ours[i].data.data(), static_cast<std::int64_t>(out.total()));
    MESSAGE(cfg_name << " " << names[i] << " OpenCV " CV_VERSION ": " << test::describe(d));
    CHECK(d.max_abs <= 1e-4 * d.max_magnitude);
  }
}

}  // namespace

#define EXPORT_CASE(dir, file) \
  TEST_CASE("export: " file) { check_export(test::shared(dir "/" file), ""); }

EXPORT_CASE("models", "yolo-fastest-1.1.cfg")
EXPORT_CASE("cfg", "yolov2-tiny.cfg")
EXPORT_CASE("cfg", "yolov2.cfg")
EXPORT_CASE("cfg", "yolov3-tiny.cfg")
EXPORT_CASE("cfg", "yolov3-tiny-prn.cfg")
EXPORT_CASE("cfg", "yolov3.cfg")
EXPORT_CASE("cfg", "yolov3-spp.cfg")
EXPORT_CASE("cfg", "yolov4-tiny.cfg")
EXPORT_CASE("cfg", "yolov4.cfg")
EXPORT_CASE("cfg", "yolov4-csp.cfg")
EXPORT_CASE("cfg", "yolov4x-mish.cfg")
EXPORT_CASE("cfg", "yolov7-tiny.cfg")
EXPORT_CASE("cfg", "yolov7.cfg")
EXPORT_CASE("cfg", "enet-coco.cfg")

TEST_CASE("export: layer-mix.cfg") { check_export(test::project("cfg/layer-mix.cfg"), ""); }
TEST_CASE("export: resnet-mix.cfg") { check_export(test::project("cfg/resnet-mix.cfg"), ""); }

// Activations with no single ONNX operator (stair, the normalize_channels
// family) and maxpool_depth. Stair steps at integers, so it runs on the
// crop's exact output (2v - 1) rather than on a convolution's, whose last
// bits differ between runtimes.
const char* const kRareKindsCfg = R"([net]
width=72
height=72
channels=3

[crop]
crop_width=64
crop_height=64

[activation]
activation=stair

[convolutional]
filters=12
size=3
stride=2
pad=1
activation=normalize_channels

[convolutional]
filters=12
size=1
stride=1
activation=normalize_channels_softmax

[convolutional]
filters=12
size=1
stride=1
activation=normalize_channels_softmax_maxval

[maxpool]
maxpool_depth=1
out_channels=5

[convolutional]
filters=18
size=3
stride=2
pad=1
activation=linear

[yolo]
mask=0,1,2
anchors=10,14, 23,27, 37,58
classes=1
num=3
)";

TEST_CASE("export: stair, normalize_channels activations and maxpool_depth") {
  test::TempDir dir;
  check_export(dir.write("rare-kinds.cfg", kRareKindsCfg), "", 72);
}

TEST_CASE("export: yolo-fastest-1.1 with its trained weights") {
  check_export(test::shared("models/yolo-fastest-1.1.cfg"), test::shared("models/yolo-fastest-1.1.weights"));
}

// Every public cfg must be a case above: a new file in ../shared/cfg fails here until it is added.
TEST_CASE("export: every cfg in ../shared is covered") {
  const std::set<std::string> covered = {"yolov2-tiny.cfg", "yolov2.cfg",        "yolov3-tiny.cfg",   "yolov3-tiny-prn.cfg",
                                         "yolov3.cfg",      "yolov3-spp.cfg",    "yolov4-tiny.cfg",   "yolov4.cfg",
                                         "yolov4-csp.cfg",  "yolov4x-mish.cfg",  "yolov7-tiny.cfg",   "yolov7.cfg",
                                         "enet-coco.cfg",   "yolo-fastest-1.1.cfg"};
  for (const char* dir : {"cfg", "models"}) {
    for (const auto& entry : fs::directory_iterator(test::shared(dir))) {
      if (entry.path().extension() != ".cfg") continue;
      INFO(entry.path().string());
      CHECK(covered.count(entry.path().filename().string()) == 1);
    }
  }
}

namespace {

// A candidate's class as the decode tail reports it, mapped to the image the
// way Darknet's correct_yolo_boxes maps network boxes (stretch or letterbox).
struct Scored {
  int class_id = 0;
  float prob = 0;
  RelativeBox box;
};

std::vector<Scored> tail_candidates(const RuntimeOutput& boxes, const RuntimeOutput& class_scores, float threshold,
                                    int image_w, int image_h, const Shape& net, bool letterbox) {
  const std::int64_t count = boxes.dims.at(1);
  const std::int64_t classes = class_scores.dims.at(2);
  double new_w = net.w, new_h = net.h;
  if (letterbox) {
    if (static_cast<double>(net.w) / image_w < static_cast<double>(net.h) / image_h) {
      new_h = (image_h * net.w) / image_w;
    } else {
      new_w = (image_w * net.h) / image_h;
    }
  }
  std::vector<Scored> found;
  for (std::int64_t k = 0; k < count; ++k) {
    const float* b = &boxes.floats[static_cast<std::size_t>(4 * k)];
    RelativeBox box;
    box.x = static_cast<float>(((b[0] + b[2]) / 2 - (net.w - new_w) / 2) / new_w);
    box.y = static_cast<float>(((b[1] + b[3]) / 2 - (net.h - new_h) / 2) / new_h);
    box.w = static_cast<float>((b[2] - b[0]) / new_w);
    box.h = static_cast<float>((b[3] - b[1]) / new_h);
    for (std::int64_t j = 0; j < classes; ++j) {
      const float p = class_scores.floats[static_cast<std::size_t>(k * classes + j)];
      if (p > threshold) found.push_back({static_cast<int>(j), p, box});
    }
  }
  return found;
}

bool same_box(const RelativeBox& a, const RelativeBox& b, float tolerance) {
  return std::fabs(a.x - b.x) <= tolerance && std::fabs(a.y - b.y) <= tolerance && std::fabs(a.w - b.w) <= tolerance &&
         std::fabs(a.h - b.h) <= tolerance;
}

// Every class of every candidate the Detector keeps with NMS off must come
// out of the decode tail with the same probability and box, and nothing else
// may (but for probabilities within float noise of the threshold).
void check_decode(const Detector& detector, const std::string& model_path, const std::string& image_path) {
  const Image image = load_image(image_path);
  const Image fitted = detector.fit_to_network(image);
  const Shape net = detector.network().graph().input;
  const float threshold = detector.options().threshold;
  const std::vector<ScoredBox> ours = detector.scored_boxes(image);
  const auto runtime = run_onnx_runtime(model_path, fitted.data, 1, net);
  std::vector<Scored> theirs = tail_candidates(runtime.at("boxes"), runtime.at("class_scores"), threshold, image.w,
                                               image.h, net, detector.options().letterbox);
  constexpr float kTolerance = 1e-4f;
  std::vector<bool> used(theirs.size(), false);
  std::size_t matched = 0;
  std::size_t first_unused = 0;  // both lists are in Darknet's order, so matches are found near here
  for (const ScoredBox& s : ours) {
    bool found = false;
    while (first_unused < used.size() && used[first_unused]) ++first_unused;
    for (std::size_t i = first_unused; i < theirs.size() && !found; ++i) {
      if (used[i] || theirs[i].class_id != s.class_id || std::fabs(theirs[i].prob - s.prob) > kTolerance) continue;
      if (!same_box(theirs[i].box, s.box, kTolerance)) continue;
      used[i] = found = true;
    }
    if (!found) {
      CHECK_MESSAGE(std::fabs(s.prob - threshold) < kTolerance, "dusk's candidate class " << s.class_id << " p=" << s.prob
                                                                  << " at " << s.box.x << "," << s.box.y << " is not in the decode tail");
    }
    matched += found ? 1 : 0;
  }
  for (std::size_t i = 0; i < theirs.size(); ++i) {
    if (!used[i]) {
      CHECK_MESSAGE(std::fabs(theirs[i].prob - threshold) < kTolerance,
                    "decode tail candidate class " << theirs[i].class_id << " p=" << theirs[i].prob << " is not dusk's");
    }
  }
  const std::string mode = detector.options().letterbox ? "letterbox" : "stretch";
  MESSAGE(fs::path(image_path).filename().string() << " " << mode << ": " << matched << " of " << ours.size() << " candidate classes matched");
  CHECK(matched > 0);
  // scores and class_ids are the best class of each candidate.
  const RuntimeOutput& scores = runtime.at("scores");
  const RuntimeOutput& ids = runtime.at("class_ids");
  const RuntimeOutput& all = runtime.at("class_scores");
  const std::int64_t classes = all.dims.at(2);
  for (std::size_t k = 0; k < scores.floats.size(); k += 97) {
    const float* row = &all.floats[k * static_cast<std::size_t>(classes)];
    const auto best = std::max_element(row, row + classes);
    CHECK(scores.floats[k] == *best);
    CHECK(ids.ints[k] == best - row);
  }
}

std::string export_model(const std::string& cfg, const std::string& weights, const std::string& out, const std::string& flags) {
  const test::CommandResult result = dusk_export(shell_quote(cfg) + " " + shell_quote(weights) + " " + shell_quote(out) + " " + flags);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return out;
}

// The candidates ONNX NonMaxSuppression picked (its `selected` rows), each
// with its class, probability and box mapped to the (stretched) image.
std::vector<Scored> nms_picks(const std::map<std::string, RuntimeOutput>& runtime, const Image& image, const Shape& net) {
  const RuntimeOutput& selected = runtime.at("selected");
  REQUIRE(selected.dims.size() == 2);
  const std::vector<Scored> all = tail_candidates(runtime.at("boxes"), runtime.at("class_scores"), -1.f, image.w, image.h, net, false);
  const std::int64_t classes = runtime.at("class_scores").dims.at(2);
  std::vector<Scored> picks;
  for (std::int64_t m = 0; m < selected.dims[0]; ++m) {
    const std::int64_t* row = &selected.ints[static_cast<std::size_t>(3 * m)];
    CHECK(row[0] == 0);  // the only image of the batch
    picks.push_back(all[static_cast<std::size_t>(row[2] * classes + row[1])]);
  }
  return picks;
}

const char* const kSampleImages[] = {"dog.jpg", "person.jpg", "horses.jpg", "eagle.jpg", "giraffe.jpg"};

}  // namespace

TEST_CASE("export --decode: boxes and scores equal the Detector's candidates before NMS (yolo-fastest, trained)") {
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const std::string weights = test::shared("models/yolo-fastest-1.1.weights");
  test::TempDir dir;
  const std::string model = export_model(cfg, weights, dir.file("decode.onnx"), "--decode");
  for (const bool letterbox : {false, true}) {
    DetectorOptions options;
    options.nms = 0;
    options.letterbox = letterbox;
    options.network.threads = 1;
    const Detector detector(cfg, weights, options);
    for (const char* image : kSampleImages) check_decode(detector, model, test::darknet_data(image));
  }
}

namespace {

// Random weights for other head kinds: region (YOLOv2), new_coords (scaled
// YOLOv4/v7) and Gaussian_yolo with corner boxes.
void check_decode_random(const std::string& cfg, float threshold) {
  INFO(cfg);
  const Graph graph = load_graph(cfg, GraphOptions{kSide, kSide});
  const Weights weights = random_weights(graph, 5);
  test::TempDir dir;
  write_weights(dir.file("random.weights"), graph, weights);
  const std::string size = std::to_string(kSide) + "x" + std::to_string(kSide);
  const std::string model = export_model(cfg, dir.file("random.weights"), dir.file("decode.onnx"), "--decode --size " + size);
  DetectorOptions options;
  options.nms = 0;
  options.threshold = threshold;
  options.network.threads = 1;
  const Detector detector(Network(graph, weights, NetworkOptions{}), options);
  check_decode(detector, model, test::darknet_data("dog.jpg"));
}

const char* const kGaussianCfg = R"([net]
width=64
height=64
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky

[convolutional]
filters=33
size=1
stride=1
activation=linear

[Gaussian_yolo]
mask=0,1,2
anchors=10,14, 23,27, 37,58
classes=2
num=3
yolo_point=left_top
)";

}  // namespace

TEST_CASE("export --decode: region, new_coords and Gaussian_yolo heads") {
  check_decode_random(test::shared("cfg/yolov2-tiny.cfg"), 0.005f);
  check_decode_random(test::shared("cfg/yolov4-csp.cfg"), 0.26f);
  test::TempDir dir;
  check_decode_random(dir.write("gaussian.cfg", kGaussianCfg), 0.2f);
}

TEST_CASE("export --nms: ONNX NonMaxSuppression keeps what the Detector keeps") {
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const std::string weights = test::shared("models/yolo-fastest-1.1.weights");
  test::TempDir dir;
  const std::string model = export_model(cfg, weights, dir.file("nms.onnx"), "--nms --nms-iou 0.45 --thresh 0.25");
  DetectorOptions options;
  options.network.threads = 1;  // Darknet's default: plain IoU, 0.45, 0.25
  const Detector detector(cfg, weights, options);
  const Shape net = detector.network().graph().input;
  std::size_t total = 0;
  for (const char* name : kSampleImages) {
    INFO(std::string(name));
    const Image image = load_image(test::darknet_data(name));
    const std::vector<ScoredBox> ours = detector.scored_boxes(image);
    const auto runtime = run_onnx_runtime(model, detector.fit_to_network(image).data, 1, net);
    const std::vector<Scored> picks = nms_picks(runtime, image, net);
    CHECK(picks.size() == ours.size());
    for (const Scored& s : picks) {
      const bool kept = std::any_of(ours.begin(), ours.end(), [&](const ScoredBox& o) {
        return o.class_id == s.class_id && std::fabs(o.prob - s.prob) <= 1e-4f && same_box(o.box, s.box, 1e-4f);
      });
      CHECK_MESSAGE(kept, "ONNX NMS kept class " << s.class_id << " p=" << s.prob << ", which dusk suppressed");
    }
    total += ours.size();
  }
  MESSAGE(total << " detections on " << std::size(kSampleImages) << " images, identical");
  CHECK(total > 0);
}

TEST_CASE("export --batch dynamic: each image of a batch of two equals its own forward") {
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const std::string weights = test::shared("models/yolo-fastest-1.1.weights");
  test::TempDir dir;
  const std::string model = export_model(cfg, weights, dir.file("batch.onnx"), "--batch dynamic --decode");
  const Graph graph = load_graph(cfg);
  const Network network(graph, read_weights(weights, graph), NetworkOptions{});
  const std::vector<float> first = random_input(graph.input, 1);
  const std::vector<float> second = random_input(graph.input, 2);
  std::vector<float> both = first;
  both.insert(both.end(), second.begin(), second.end());
  const auto runtime = run_onnx_runtime(model, both, 2, graph.input);
  const std::vector<int> heads = graph.head_layers();
  for (std::size_t image = 0; image < 2; ++image) {
    Tensor input(graph.input);
    input.data = image == 0 ? first : second;
    const std::vector<Tensor> ours = network.forward(input, heads);
    for (std::size_t i = 0; i < heads.size(); ++i) {
      const RuntimeOutput& out = runtime.at(head_output_name(graph.layers[static_cast<std::size_t>(heads[i])]));
      REQUIRE(out.dims.at(0) == 2);
      const std::size_t size = ours[i].data.size();
      const test::Difference d = test::compare(out.floats.data() + image * size, ours[i].data.data(), static_cast<std::int64_t>(size));
      CHECK(d.max_abs <= 1e-4 * d.max_magnitude);
    }
  }
  CHECK(runtime.at("boxes").dims.at(0) == 2);
}

TEST_CASE("export: metadata names the classes, input, resize mode, heads and producer") {
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  test::TempDir dir;
  const std::string path = export_model(cfg, test::shared("models/yolo-fastest-1.1.weights"), dir.file("meta.onnx"),
                                        "--names " + shell_quote(test::shared("models/coco.names")) + " --opset 17");
  const onnx::ModelProto model = read_model(path);
  CHECK(model.producer_name() == "dusk");
  CHECK(!model.producer_version().empty());
  CHECK(model.opset_import(0).version() == 17);
  const auto names = nlohmann::json::parse(metadata(model, "dusk.names"));
  REQUIRE(names.size() == 80);
  CHECK(names[0] == "person");
  CHECK(names[79] == "toothbrush");
  CHECK(metadata(model, "dusk.input") == "320x320");
  CHECK(metadata(model, "dusk.letterbox") == "0");
  CHECK(metadata(model, "dusk.source").find("yolo-fastest-1.1.cfg") != std::string::npos);
  const auto heads = nlohmann::json::parse(metadata(model, "dusk.heads"));
  REQUIRE(heads.size() == 2);
  const Graph graph = load_graph(cfg);
  const Layer& first = graph.layers[static_cast<std::size_t>(graph.head_layers()[0])];
  CHECK(heads[0]["output"] == head_output_name(first));
  CHECK(heads[0]["anchors"].get<std::vector<float>>() == first.as<YoloSpec>().anchors);
  CHECK(heads[0]["mask"].get<std::vector<int>>() == first.as<YoloSpec>().mask);
}

namespace {

const char* const kRecurrentCfg = "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=8\n[lstm]\noutput=8\n";
const char* const kNoHeadCfg = "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=8\n[avgpool]\n";

// Runs `dusk export` expecting a one-line error that mentions `expected`,
// and no output file.
void check_refused(const std::string& args, const std::string& out, const std::string& expected) {
  const test::CommandResult result = dusk_export(args + " " + shell_quote(out));
  INFO(result.err);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find(expected) != std::string::npos);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(!fs::exists(out));
  // Nor a temporary file left behind.
  for (const auto& entry : fs::directory_iterator(fs::path(out).parent_path())) {
    CHECK(entry.path().filename().string().find("out.onnx") == std::string::npos);
  }
}

}  // namespace

TEST_CASE("export refuses what it cannot express or does not fit, writing nothing") {
  test::TempDir dir;
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const std::string weights = test::shared("models/yolo-fastest-1.1.weights");
  fs::create_directory(dir.file("out"));
  const std::string out = dir.file("out/out.onnx");

  SUBCASE("an unsupported section, named with its layer") {
    check_refused(shell_quote(dir.write("lstm.cfg", kRecurrentCfg)) + " -", out, "layer 1 [lstm] is not supported");
  }
  SUBCASE("a model without a detection head") {
    check_refused(shell_quote(dir.write("nohead.cfg", kNoHeadCfg)) + " -", out, "no detection head");
  }
  SUBCASE("a weights file cut short") {
    const std::vector<char> bytes = test::read_bytes(weights);
    const std::string cut = dir.write_bytes("cut.weights", std::vector<char>(bytes.begin(), bytes.begin() + bytes.size() / 2));
    check_refused(shell_quote(cfg) + " " + shell_quote(cut), out, "cut.weights");
  }
  SUBCASE("weights of another model") {
    const Graph other = load_graph(test::shared("cfg/yolov3-tiny.cfg"));
    write_weights(dir.file("other.weights"), other, random_weights(other, 3));
    check_refused(shell_quote(cfg) + " " + shell_quote(dir.file("other.weights")), out, "weights");
  }
  SUBCASE("an opset outside 13-17") {
    check_refused(shell_quote(cfg) + " " + shell_quote(weights) + " --opset 11", out, "opset 11");
  }
  SUBCASE("an output path that is a directory") {
    const test::CommandResult result = dusk_export(shell_quote(cfg) + " " + shell_quote(weights) + " " + shell_quote(dir.file("out")));
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("out") != std::string::npos);
    CHECK(fs::is_directory(dir.file("out")));
  }
}

TEST_CASE("export_onnx (library) refuses weights for another graph") {
  const Graph graph = load_graph(test::shared("models/yolo-fastest-1.1.cfg"));
  const Graph other = load_graph(test::shared("cfg/yolov3-tiny.cfg"));
  CHECK_THROWS_AS(export_onnx(graph, random_weights(other, 1)), Error);
}


// Half precision keeps 11 significant bits (relative rounding 4.9e-4 per
// operation); over yolo-fastest's ~120 layers it was measured at 0.4-1.2%
// of the largest head value on the sample images (1.7% on a random input)
// in ONNX Runtime 1.30. The bound, 5%, leaves room for other
// images while still catching a layer computed wrongly (tens of percent).
// OpenCV 4.6 cannot import float16 initializers, so ONNX Runtime checks it.
TEST_CASE("export --fp16: heads within 5% of max |value|, the same confident detections") {
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const std::string weights = test::shared("models/yolo-fastest-1.1.weights");
  test::TempDir dir;
  const std::string half = export_model(cfg, weights, dir.file("half.onnx"), "--fp16 --nms");
  CHECK(metadata(read_model(half), "dusk.precision") == "fp16");
  CHECK(fs::file_size(half) < fs::file_size(weights) * 6 / 10);  // two bytes a weight, not four
  DetectorOptions options;
  options.network.threads = 1;
  const Detector detector(cfg, weights, options);
  const Graph& graph = detector.network().graph();
  const std::vector<int> heads = graph.head_layers();
  std::size_t confident = 0;
  for (const char* name : kSampleImages) {
    INFO(std::string(name));
    const Image image = load_image(test::darknet_data(name));
    const Image fitted = detector.fit_to_network(image);
    const auto runtime = run_onnx_runtime(half, fitted.data, 1, graph.input);
    Tensor input(graph.input);
    input.data = fitted.data;
    const std::vector<Tensor> ours = detector.network().forward(input, heads);
    for (std::size_t i = 0; i < heads.size(); ++i) {
      const std::string output = head_output_name(graph.layers[static_cast<std::size_t>(heads[i])]);
      const test::Difference d = test::compare(runtime.at(output).floats, ours[i].data);
      MESSAGE(std::string(name) << " " << output << " float16 vs dusk float32: " << test::describe(d) << " ("
                   << 100 * d.max_abs / d.max_magnitude << "%)");
      CHECK(d.max_abs <= 5e-2 * d.max_magnitude);
    }
    // Every detection well above the threshold is among NMS's picks in float16.
    const std::vector<Scored> picks = nms_picks(runtime, image, graph.input);
    for (const ScoredBox& s : detector.scored_boxes(image)) {
      if (s.prob < 0.35f) continue;
      ++confident;
      const bool found = std::any_of(picks.begin(), picks.end(), [&](const Scored& h) {
        return h.class_id == s.class_id && std::fabs(h.prob - s.prob) < 0.05f && box_iou(h.box, s.box) > 0.9f;
      });
      CHECK_MESSAGE(found, "class " << s.class_id << " p=" << s.prob << " not found in float16");
    }
  }
  CHECK(confident > 0);
}

namespace {

// The CPU's own conversion (F16C, round to nearest even) as the oracle.
__attribute__((target("f16c"))) std::uint16_t hardware_half(float value) {
  return static_cast<std::uint16_t>(_cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT));
}

}  // namespace

TEST_CASE("float16 rounding of exported weights equals the CPU's F16C conversion") {
  REQUIRE_MESSAGE(__builtin_cpu_supports("f16c"), "every x86-64 CPU since 2012 has F16C");
  std::vector<float> values = {0.f, -0.f, 1.f, -1.f, 65504.f, 65520.f, 65519.f, 1e6f, -1e6f, 6.1035156e-5f, 6.0e-5f,
                               5.96e-8f, 2.98e-8f, 2.99e-8f, 1e-9f, 1.0009765625f, 1.00048828125f, 1.00146484375f,
                               std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::denorm_min()};
  std::mt19937 engine(3);
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    const std::uint32_t b = bits(engine);
    float f = 0;
    std::memcpy(&f, &b, sizeof f);
    if (!std::isnan(f)) values.push_back(f);
  }
  std::normal_distribution<float> weights(0.f, 0.05f);  // the magnitudes of real weights
  for (int i = 0; i < 200000; ++i) values.push_back(weights(engine));
  int wrong = 0;
  for (const float v : values) {
    if (onnx_export::to_half(v) != hardware_half(v) && ++wrong <= 5) {
      MESSAGE("to_half(" << v << ") = " << onnx_export::to_half(v) << ", F16C says " << hardware_half(v));
    }
  }
  CHECK(wrong == 0);
  CHECK((onnx_export::to_half(std::nanf("")) & 0x7c00u) == 0x7c00u);
  CHECK((onnx_export::to_half(std::nanf("")) & 0x3ffu) != 0);
}

namespace {

int count_ops(const onnx::ModelProto& model, const std::string& op) {
  return static_cast<int>(std::count_if(model.graph().node().begin(), model.graph().node().end(),
                                        [&](const onnx::NodeProto& node) { return node.op_type() == op; }));
}

std::string calibrate_with_cli(const std::string& cfg, const std::string& weights, const std::string& out) {
  const test::CommandResult made = test::run_command(shell_quote(test::kDuskBinary) + " calibrate " + shell_quote(cfg) +
                                                     " " + shell_quote(weights) + " " +
                                                     shell_quote(test::darknet_data("")) + " -o " + shell_quote(out));
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  return out;
}

double mean_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::fabs(double{a[i]} - double{b[i]});
  return sum / static_cast<double>(a.size());
}

// The int8 QDQ export against dusk's own int8 on `images`: ONNX Runtime
// turns every convolution dusk runs in int8 into QLinearConv, its integer
// kernel. The int8 error bound is dusk int8's own distance from fp32 on the
// same image: ONNX Runtime's heads stay within twice it on average (it
// quantizes each result once more, before the activation; 1.2-1.7x measured)
// and differ from dusk int8's by at most 1.5 times it. A single value may move by tens
// of percent in either int8 run on a trained model (a logistic near its
// middle), so the maximum is reported, not bounded. Detections well above the
// threshold in dusk int8 come out of ONNX Runtime's NMS with the same class
// and box and a probability within 0.2 (0.17 the widest measured).
void check_int8_export(const std::string& cfg, const std::string& weights, const std::vector<std::string>& images) {
  test::TempDir dir;
  const std::string calib = calibrate_with_cli(cfg, weights, dir.file("model.calib"));
  const std::string model =
      export_model(cfg, weights, dir.file("int8.onnx"), "--int8 --nms --calib " + shell_quote(calib));
  CHECK(metadata(read_model(model), "dusk.precision") == "int8");
  const Graph loaded = load_graph(cfg);
  const auto network = [&](const NetworkOptions& options) {
    return weights == "-" ? Network(loaded, random_weights(loaded, 1), options) : Network::load(cfg, weights, options);
  };
  DetectorOptions options;
  options.network.threads = 1;
  const Network fp32 = network(options.network);
  options.network.precision = Precision::Int8;
  options.network.strict_precision = true;
  options.network.calibration = std::make_shared<const Calibration>(read_calibration(calib));
  const Detector detector(network(options.network), options);
  const Graph& graph = detector.network().graph();
  const std::vector<bool> int8 = int8_convolutions(graph, *options.network.calibration);
  const int int8_count = static_cast<int>(std::count(int8.begin(), int8.end(), true));
  const std::vector<int> heads = graph.head_layers();
  int confident = 0;
  float widest_gap = 0, least_overlap = 1;
  for (const std::string& name : images) {
    INFO(name);
    const Image image = load_image(test::darknet_data(name));
    const Image fitted = detector.fit_to_network(image);
    const std::string optimized = dir.file("optimized.onnx");
    const auto runtime = run_onnx_runtime(model, fitted.data, 1, graph.input, name == images.front() ? optimized : "");
    if (name == images.front()) {
      const onnx::ModelProto rewritten = read_model(optimized);
      MESSAGE(fs::path(cfg).filename().string() << ": ONNX Runtime made " << count_ops(rewritten, "QLinearConv")
                                                << " QLinearConv of " << int8_count << " int8 convolutions");
      CHECK(count_ops(rewritten, "QLinearConv") == int8_count);
      CHECK(int8_count > 0);
    }
    Tensor input(graph.input);
    input.data = fitted.data;
    const std::vector<Tensor> ours = detector.network().forward(input, heads);
    const std::vector<Tensor> exact = fp32.forward(input, heads);
    for (std::size_t i = 0; i < heads.size(); ++i) {
      const std::vector<float>& theirs = runtime.at(head_output_name(graph.layers[static_cast<std::size_t>(heads[i])])).floats;
      const double dusk_error = mean_abs_difference(ours[i].data, exact[i].data);
      const double runtime_error = mean_abs_difference(theirs, exact[i].data);
      const double apart = mean_abs_difference(theirs, ours[i].data);
      MESSAGE(name << " head " << heads[i] << ", mean |diff| from fp32: dusk int8 " << dusk_error
                   << ", ONNX Runtime int8 " << runtime_error << "; from each other " << apart << "; max: "
                   << test::describe(test::compare(theirs, ours[i].data)));
      CHECK(runtime_error <= 2 * dusk_error + 1e-6);
      CHECK(apart <= 1.5 * dusk_error + 1e-6);
    }
    // The same objects: each of dusk int8's confident detections is one of
    // ONNX Runtime's, by class and overlap, within int8's spread of probability.
    const std::vector<Scored> picks = nms_picks(runtime, image, graph.input);
    for (const ScoredBox& s : detector.scored_boxes(image)) {
      if (s.prob < 0.5f) continue;
      ++confident;
      const auto match = std::find_if(picks.begin(), picks.end(), [&](const Scored& h) {
        return h.class_id == s.class_id && std::fabs(h.prob - s.prob) <= 0.2f && box_iou(h.box, s.box) >= 0.6f;
      });
      CHECK_MESSAGE(match != picks.end(), "dusk int8's class " << s.class_id << " p=" << s.prob << " is not among ONNX Runtime's");
      if (match != picks.end()) {
        widest_gap = std::max(widest_gap, std::fabs(match->prob - s.prob));
        least_overlap = std::min(least_overlap, box_iou(match->box, s.box));
      }
    }
  }
  MESSAGE(confident << " detections above 0.5 found in ONNX Runtime's; widest probability gap " << widest_gap
                    << ", least overlap " << least_overlap);
  if (weights != "-") CHECK(confident > 0);  // a trained model finds something on Darknet's samples
}

}  // namespace

TEST_CASE("export --int8: ONNX Runtime runs dusk's int8 convolutions as QLinearConv, heads as dusk int8's") {
  if (!fast_backend_compiled() || !cpu_features().int8()) {
    MESSAGE("skipped: dusk int8 needs oneDNN and an int8 unit (" << describe(cpu_features()) << ")");
    return;
  }
  check_int8_export(test::shared("models/yolo-fastest-1.1.cfg"), test::shared("models/yolo-fastest-1.1.weights"),
                    {"dog.jpg", "person.jpg", "horses.jpg", "eagle.jpg", "giraffe.jpg"});
  check_int8_export(test::shared("cfg/yolov4-tiny.cfg"), "-", {"dog.jpg", "eagle.jpg"});
}

TEST_CASE("export --int8 refuses a missing, old or foreign calibration, and fp16") {
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const std::string weights = test::shared("models/yolo-fastest-1.1.weights");
  test::TempDir dir;
  const auto refused = [&](const std::string& flags, const std::string& why) {
    const test::CommandResult result = dusk_export(shell_quote(cfg) + " " + shell_quote(weights) + " " +
                                                   shell_quote(dir.file("out.onnx")) + " " + flags);
    INFO(flags);
    CHECK(result.exit_code != 0);
    CHECK_MESSAGE(result.err.find(why) != std::string::npos, result.err);
    CHECK(!fs::exists(dir.file("out.onnx")));
  };
  refused("--int8", "--int8 needs --calib FILE");
  const std::string old = dir.write("old.calib", "dusk-calibration 1\nweights fnv1a64:0011223344556677\n");
  refused("--int8 --calib " + shell_quote(old), "version 1 is older than the one this dusk reads");
  const std::string random = calibrate_with_cli(cfg, "-", dir.file("random.calib"));
  refused("--int8 --calib " + shell_quote(random), "the calibration was made with other weights");
  refused("--int8 --fp16 --calib " + shell_quote(random), "leave out fp16");
}
