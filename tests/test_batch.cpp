// Batches: Network::forward_batch and Detector::detect_fitted of several
// images against the same calls one image at a time (the oracle), and the
// --batch options of dusk bench and dusk detect (directories and video).
#include <doctest/doctest.h>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "dusk/dusk.hpp"
#include "dusk/text.hpp"
#include "support/compare.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

namespace fs = std::filesystem;
using namespace dusk;
using nlohmann::json;

namespace {

const std::string kModel = test::shared("models/yolo-fastest-1.1");
const std::string kCfg = kModel + ".cfg";
const std::string kWeights = kModel + ".weights";
const std::string kNames = test::shared("models/coco.names");
const std::string kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
const std::vector<std::string> kImages = {"dog.jpg", "horses.jpg", "person.jpg", "giraffe.jpg", "kite.jpg"};

Tensor random_input(const Shape& shape, unsigned seed) {
  Tensor tensor(shape);
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  for (float& v : tensor.data) v = unit(engine);
  return tensor;
}

// The images run on other thread counts than one image alone gets (one
// thread each, side by side), so the sums may round differently; fp32's
// differences across thread counts stay far below this.
constexpr double kRelativeTolerance = 1e-4;

void check_same_outputs(const Network& network, const std::vector<Tensor>& inputs) {
  const std::vector<std::vector<Tensor>> batch = network.forward_batch(inputs);
  REQUIRE(batch.size() == inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<Tensor> alone = network.forward(inputs[i]);
    REQUIRE(batch[i].size() == alone.size());
    for (std::size_t head = 0; head < alone.size(); ++head) {
      CAPTURE(i);
      CAPTURE(head);
      CHECK(batch[i][head].shape == alone[head].shape);
      const test::Difference d = test::compare(batch[i][head].data, alone[head].data);
      INFO(test::describe(d));
      CHECK(d.max_abs <= kRelativeTolerance * d.max_magnitude);
    }
  }
  // Different inputs give clearly different outputs, so a batch that mixed
  // up its images' order would fail above.
  const test::Difference between = test::compare(batch[0][0].data, batch[1][0].data);
  CHECK(between.max_abs > 100 * kRelativeTolerance * between.max_magnitude);
}

bool close_detections(const std::vector<Detection>& a, const std::vector<Detection>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].class_id != b[i].class_id || std::fabs(a[i].confidence - b[i].confidence) > 1e-4f ||
        std::fabs(a[i].box.left - b[i].box.left) > 0.05f || std::fabs(a[i].box.top - b[i].box.top) > 0.05f ||
        std::fabs(a[i].box.width - b[i].box.width) > 0.05f || std::fabs(a[i].box.height - b[i].box.height) > 0.05f) {
      return false;
    }
  }
  return true;
}

std::string dusk_command(const std::string& args) { return test::kDuskBinary + " " + args; }

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

}  // namespace

TEST_CASE("forward_batch gives each input what forward gives it, in order, on both backends") {
  SUBCASE("fast, trained yolo-fastest, more images than threads") {
    NetworkOptions options;
    options.threads = 2;
    const Network network = Network::load(kCfg, kWeights, options);
    std::vector<Tensor> inputs;
    for (unsigned seed = 1; seed <= 5; ++seed) inputs.push_back(random_input(network.input_shape(), seed));
    check_same_outputs(network, inputs);
  }
  SUBCASE("fast, one thread: the images one after another") {
    NetworkOptions options;
    options.threads = 1;
    const Network network = Network::load(kCfg, kWeights, options);
    check_same_outputs(network, {random_input(network.input_shape(), 7), random_input(network.input_shape(), 8)});
  }
  SUBCASE("reference backend, a public cfg with random weights") {
    const Graph graph = load_graph(test::shared("cfg/yolov3-tiny.cfg"), GraphOptions{96, 96});
    NetworkOptions options;
    options.threads = 2;
    options.backend = Backend::Reference;
    const Network network(graph, random_weights(graph, 3), options);
    check_same_outputs(network, {random_input(network.input_shape(), 1), random_input(network.input_shape(), 2),
                                 random_input(network.input_shape(), 3)});
  }
}

TEST_CASE("forward_batch: an empty batch, chosen layers, and a wrong input shape") {
  NetworkOptions options;
  options.threads = 2;
  const Network network = Network::load(kCfg, kWeights, options);
  CHECK(network.forward_batch({}).empty());

  const std::vector<Tensor> inputs = {random_input(network.input_shape(), 1), random_input(network.input_shape(), 2)};
  const std::vector<std::vector<Tensor>> layer3 = network.forward_batch(inputs, {3});
  REQUIRE(layer3.size() == 2);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    REQUIRE(layer3[i].size() == 1);
    const test::Difference d = test::compare(layer3[i][0].data, network.forward(inputs[i], {3})[0].data);
    CHECK(d.max_abs <= kRelativeTolerance * d.max_magnitude);
  }

  std::vector<Tensor> mixed = inputs;
  mixed.push_back(Tensor(Shape{3, 32, 32}));
  CHECK_THROWS_WITH_AS(network.forward_batch(mixed), doctest::Contains("input tensor is 3x32x32"), Error);
  CHECK_THROWS_WITH_AS(network.forward_batch(inputs, {999}), doctest::Contains("layer 999 does not exist"), Error);
}

TEST_CASE("Detector: a batch of images finds what each image alone finds") {
  DetectorOptions options;
  options.network.threads = 2;
  options.labels = load_labels(kNames);
  const Detector detector(kCfg, kWeights, options);
  std::vector<Image> images;
  for (const std::string& name : kImages) images.push_back(load_image(test::darknet_data(name)));
  const std::vector<std::vector<Detection>> batch = detector.detect_batch(images);
  REQUIRE(batch.size() == images.size());
  std::size_t found = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    CAPTURE(kImages[i]);
    CHECK(close_detections(batch[i], detector.detect(images[i])));
    found += batch[i].size();
  }
  CHECK(found >= 10);  // the dog, the bicycle, horses, people...

  // A bad image fails the call with one line, as detect() does.
  std::vector<FittedImage> fitted = {{detector.fit_to_network(images[0]), images[0].w, images[0].h},
                                     {Image(10, 10, 3), 10, 10}};
  CHECK_THROWS_WITH_AS(detector.detect_fitted(std::move(fitted)), doctest::Contains("a fitted image must be"), Error);
}

TEST_CASE("dusk bench --batch N: one pass is N images, reported as images/s") {
  const auto result = test::run_command(dusk_command("bench " + kCfg + " " + kWeights + " --batch 3 --iters 3 --warmup 1 --json"));
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const json report = json::parse(result.out);
  CHECK(report["batch"] == 3);
  CHECK(report["images_per_s"].get<double>() == doctest::Approx(3000.0 / report["median_ms"].get<double>()));

  const auto text = test::run_command(dusk_command("bench " + kCfg + " " + kWeights + " --batch 2 --iters 2 --warmup 0"));
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find(", batch 2: median") != std::string::npos);
  CHECK(text.out.find(" images/s") != std::string::npos);

  const auto zero = test::run_command(dusk_command("bench " + kCfg + " " + kWeights + " --batch 0"));
  CHECK(zero.exit_code == 2);
  CHECK(zero.err.find("--batch") != std::string::npos);
}

TEST_CASE("dusk detect --batch on a directory: the same detections, a broken image fails alone") {
  test::TempDir dir;
  fs::create_directory(dir.file("images"));
  for (const std::string& name : kImages) fs::copy_file(test::darknet_data(name), dir.file("images/" + name));
  dir.write("images/broken.jpg", "not a jpeg");
  const std::string run = "detect " + kCfg + " " + kWeights + " --names " + kNames + " " + dir.file("images") + " --threads 2";

  const auto one = test::run_command(dusk_command(run + " --jsonl " + dir.file("one.jsonl")));
  const auto three = test::run_command(dusk_command(run + " --batch 3 --jsonl " + dir.file("three.jsonl") + " --out-dir " +
                                           dir.file("annotated")));
  INFO(three.err);
  CHECK(one.exit_code == 1);  // the broken image
  CHECK(three.exit_code == 1);
  CHECK(three.err.find("broken.jpg") != std::string::npos);
  const std::vector<json> expected = read_jsonl(dir.file("one.jsonl"));
  const std::vector<json> got = read_jsonl(dir.file("three.jsonl"));
  REQUIRE(expected.size() == kImages.size() + 1);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i]["filename"] == expected[i]["filename"]);
    CHECK(got[i].contains("error") == expected[i].contains("error"));
    CHECK(got[i].value("objects", json()) == expected[i].value("objects", json()));
  }
  CHECK(fs::exists(dir.file("annotated/dog.jpg")));
  CHECK(fs::exists(dir.file("annotated/horses.jpg")));

  const auto tiles = test::run_command(dusk_command(run + " --batch 2 --tiles 2x2"));
  CHECK(tiles.exit_code == 2);
  CHECK(tiles.err.find("--batch and --tiles") != std::string::npos);
}

TEST_CASE("dusk detect --batch on a video: every frame, in order, the same detections") {
  test::TempDir dir;
  const std::string run = "detect " + kCfg + " " + kWeights + " --names " + kNames + " " + kVtest +
                          " --threads 2 --max-frames 30";
  const auto one = test::run_command(dusk_command(run + " --jsonl " + dir.file("one.jsonl") + " > /dev/null"));
  const auto four = test::run_command(dusk_command(run + " --batch 4 --jsonl " + dir.file("four.jsonl") + " > /dev/null"));
  INFO(four.err);
  REQUIRE(one.exit_code == 0);
  REQUIRE(four.exit_code == 0);
  CHECK(four.err.find("30 frames processed (30 read, 0 dropped, 0 failed, 0 missing)") != std::string::npos);
  const std::vector<json> expected = read_jsonl(dir.file("one.jsonl"));
  const std::vector<json> got = read_jsonl(dir.file("four.jsonl"));
  REQUIRE(got.size() == 30);
  REQUIRE(expected.size() == 30);
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i]["frame_id"] == i);
    CHECK(got[i]["objects"] == expected[i]["objects"]);
  }

  // Dropping frames keeps only the newest one: no batch can be gathered.
  const auto dropping = test::run_command(dusk_command(run + " --batch 2 --drop-frames > /dev/null"));
  CHECK(dropping.exit_code == 1);
  CHECK(dropping.err.find("--no-drop-frames") != std::string::npos);
}

// The job layer (run.hpp): every source and output through the same chunks.
TEST_CASE("run_detection_job: input order, a broken item fails alone, batches, tiles, scored boxes, after_detect") {
  DetectorOptions options;
  options.network.threads = 2;
  const Detector detector(kCfg, kWeights, options);
  test::TempDir dir;
  const std::string broken = dir.write("broken.jpg", "not a jpeg");
  std::vector<std::string> paths;
  for (const std::string& name : kImages) paths.push_back(test::darknet_data(name));
  paths.insert(paths.begin() + 2, broken);
  paths.push_back(dir.file("missing.jpg"));
  for (const int batch : {1, 3}) {
    CAPTURE(batch);
    JobOptions job;
    job.batch = batch;
    std::vector<JobItem> items;
    const JobSummary summary =
        run_detection_job(detector, image_files(paths), job, [&](JobItem&& item) { items.push_back(std::move(item)); });
    REQUIRE(items.size() == paths.size());
    CHECK(summary.items == paths.size());
    CHECK(summary.failed == 2);
    std::size_t detections = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      CAPTURE(paths[i]);
      CHECK(items[i].index == i);
      CHECK(items[i].name == paths[i]);
      if (i == 2 || i + 1 == paths.size()) {
        CHECK(items[i].error.find(fs::path(paths[i]).filename().string()) != std::string::npos);
        CHECK(items[i].detections.empty());
        continue;
      }
      CHECK(items[i].error.empty());
      const Image image = load_image(paths[i]);
      CHECK(items[i].width == image.w);
      CHECK(items[i].height == image.h);
      CHECK(close_detections(items[i].detections, detector.detect(image)));
      detections += items[i].detections.size();
    }
    CHECK(summary.detections == detections);
  }

  // In memory, named, with tiles and with scored boxes: what the Detector gives.
  std::vector<Image> images = {load_image(paths[0]), load_image(paths[1])};
  JobOptions tiled;
  tiled.tiles = TileOptions{2, 2, false, 0.1f};
  std::vector<JobItem> items;
  run_detection_job(detector, images_in_memory(images, {"first"}), tiled,
                    [&](JobItem&& item) { items.push_back(std::move(item)); });
  REQUIRE(items.size() == 2);
  CHECK(items[0].name == "first");
  CHECK(items[1].name == "image 2");
  CHECK(close_detections(items[1].detections, detect_tiled(detector, images[1], *tiled.tiles)));
  JobOptions scored;
  scored.output = JobOutput::ScoredBoxes;
  items.clear();
  run_detection_job(detector, images_in_memory(images), scored, [&](JobItem&& item) { items.push_back(std::move(item)); });
  REQUIRE(items.size() == 2);
  CHECK(items[0].scored.size() == detector.scored_boxes(images[0]).size());
  CHECK(!items[0].scored.empty());

  // after_detect runs on the workers; what it throws is that item's error.
  JobOptions drawing;
  drawing.after_detect = [](const JobItem& item, Image& original) {
    CHECK(original.w == item.width);
    if (item.index == 1) throw Error("cannot save the drawing");
  };
  items.clear();
  run_detection_job(detector, images_in_memory(images), drawing, [&](JobItem&& item) { items.push_back(std::move(item)); });
  CHECK(items[0].error.empty());
  CHECK(items[1].error == "image 2: cannot save the drawing");

  // Options no item could run with are refused before any runs.
  JobOptions both;
  both.batch = 2;
  both.tiles = TileOptions{};
  CHECK_THROWS_WITH_AS(run_detection_job(detector, images_in_memory(images), both, [](JobItem&&) {}),
                       doctest::Contains("JobOptions::batch and JobOptions::tiles do not go together"), Error);
  // Each shell says it in its own names, from the one check.
  try {
    check_job_options(both);
    FAIL("batch with tiles was accepted");
  } catch (const OptionError& error) {
    CHECK(error.message(Shell::Cli) == "--batch and --tiles do not go together: a tiled image is already a batch of its tiles");
    CHECK(error.message(Shell::Python).rfind("batch and tiles do not go together", 0) == 0);
    CHECK(error.message(Shell::C).rfind("dusk_options.batch and dusk_options.tiles do not go together", 0) == 0);
  }
}

TEST_CASE("run_detection_job over a stream: order and attachments kept, a sink that throws stops it and cancels") {
  // One thread per pass (no OpenMP teams, which ThreadSanitizer cannot see
  // into: the job_stream test runs this case under it) and three workers.
  DetectorOptions options;
  options.network.threads = 1;
  const Detector detector(kCfg, kWeights, options);
  std::vector<Image> images;
  for (const std::string& name : kImages) images.push_back(load_image(test::darknet_data(name)));
  // Items come one at a time from next(), as video frames do; each carries its own number.
  const std::size_t length = 3 * images.size();
  std::size_t served = 0;
  ImageStream stream;
  stream.next = [&]() -> std::optional<StreamItem> {
    if (served >= length) return std::nullopt;
    const std::size_t i = served++;
    return StreamItem{cat("frame ", i), [&images, i] { return images[i % images.size()]; }, std::any(i)};
  };
  for (const int batch : {1, 2}) {
    CAPTURE(batch);
    served = 0;
    JobOptions job;
    job.batch = batch;
    job.workers = 3;
    std::vector<JobItem> items;
    const JobSummary summary = run_detection_job(detector, stream, job, [&](JobItem&& item) { items.push_back(std::move(item)); });
    REQUIRE(items.size() == length);
    CHECK(summary.items == length);
    CHECK(summary.failed == 0);
    for (std::size_t i = 0; i < length; ++i) {
      CHECK(items[i].index == i);
      CHECK(std::any_cast<std::size_t>(items[i].attached) == i);
      CHECK(items[i].name == cat("frame ", i));
      CHECK(close_detections(items[i].detections, detector.detect(images[i % images.size()])));
    }
  }

  // A stream that would block forever once the sink fails: cancel() must release it.
  std::mutex mutex;
  std::condition_variable released;
  bool cancelled = false;
  std::size_t given = 0;
  ImageStream endless;
  endless.next = [&]() -> std::optional<StreamItem> {
    std::unique_lock lock(mutex);
    if (given >= 4) {
      released.wait(lock, [&] { return cancelled; });
      return std::nullopt;
    }
    const std::size_t i = given++;
    return StreamItem{cat("frame ", i), [&images] { return images[0]; }, {}};
  };
  endless.cancel = [&] {
    const std::lock_guard lock(mutex);
    cancelled = true;
    released.notify_all();
  };
  std::size_t sunk = 0;
  JobOptions three;
  three.workers = 3;
  CHECK_THROWS_WITH_AS(run_detection_job(detector, endless, three,
                                         [&](JobItem&& item) {
                                           if (item.index == 1) throw Error("the disk is full");
                                           ++sunk;
                                         }),
                       "the disk is full", Error);
  CHECK(sunk == 1);
  CHECK(cancelled);
}
