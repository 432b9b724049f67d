// The .weights format: header variants, Darknet's block order, exact fit
// against the graph, and the writer as the reader's inverse.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "dusk/dusk.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"
#include "weights/deferred_kernels.hpp"

using namespace dusk;

namespace {

// conv+BN 3->4 (3x3), conv 4->2 (1x1, no BN), batchnorm, shortcut with
// per-channel weights, connected+BN 2*4*4 -> 3.
const char* kCfg =
    "[net]\nwidth=4\nheight=4\nchannels=3\n"
    "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
    "[batchnorm]\n"
    "[shortcut]\nfrom=-2\nweights_type=per_channel\n"
    "[connected]\noutput=3\nbatch_normalize=1\nactivation=linear\n";

Graph small_graph() { return build_graph(parse_cfg(kCfg, "w.cfg")); }

// Floats 0, 1, 2, ... in file order, so every block's position is visible.
std::vector<char> counting_file(const Graph& graph, WeightsHeader header) {
  Weights weights;
  weights.header = header;
  weights.layers.resize(graph.layers.size());
  float next = 0;
  for (const Layer& layer : graph.layers) {
    for (const BlockSize& block : param_layout(layer)) {
      LayerParams& p = weights.layers[static_cast<std::size_t>(layer.index)];
      std::vector<float>* target = &p.weights;
      if (block.block == ParamBlock::Biases) target = &p.biases;
      if (block.block == ParamBlock::Scales) target = &p.scales;
      if (block.block == ParamBlock::Mean) target = &p.mean;
      if (block.block == ParamBlock::Variance) target = &p.variance;
      for (std::int64_t i = 0; i < block.floats; ++i) target->push_back(next++);
    }
  }
  return serialize_weights(graph, weights);
}

std::string error_of(const std::vector<char>& bytes, const Graph& graph) {
  try {
    parse_weights(bytes, graph, "w.weights");
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("block order per layer kind, as Darknet stores them") {
  const Graph graph = small_graph();
  CHECK(graph.layers[0].param_count == 4 + 3 * 4 + 4 * 3 * 9);
  CHECK(graph.layers[1].param_count == 2 + 2 * 4);
  CHECK(graph.layers[2].param_count == 4 * 2);
  CHECK(graph.layers[3].param_count == 2 * 2);
  CHECK(graph.layers[4].param_count == 3 + 3 * 32 + 3 * 3);

  const std::vector<char> bytes = counting_file(graph, WeightsHeader{});
  CHECK(bytes.size() == expected_file_bytes(graph));
  const Weights w = parse_weights(bytes, graph, "w.weights");
  CHECK(w.header.major == 0);
  CHECK(w.header.minor == 2);
  CHECK(w.trailing_bytes == 0);
  CHECK(w.warnings.empty());
  // conv + BN: biases, scales, mean, variance, then the kernel.
  CHECK(w.layers[0].biases.front() == 0.f);
  CHECK(w.layers[0].scales.front() == 4.f);
  CHECK(w.layers[0].mean.front() == 8.f);
  CHECK(w.layers[0].variance.front() == 12.f);
  CHECK(w.layers[0].weights.front() == 16.f);
  CHECK(w.layers[0].offset == 20);
  CHECK(w.layers[0].bytes == 124 * 4);
  // batchnorm layer: biases, scales, mean, variance.
  const float bn_start = 124 + 10;
  CHECK(w.layers[2].biases.front() == bn_start);
  CHECK(w.layers[2].variance.back() == bn_start + 7);
  // shortcut: its weights only.
  CHECK(w.layers[3].weights.front() == bn_start + 8);
  // connected: biases, weights, then scales, mean, variance.
  const float fc_start = bn_start + 12;
  CHECK(w.layers[4].biases.front() == fc_start);
  CHECK(w.layers[4].weights.front() == fc_start + 3);
  CHECK(w.layers[4].scales.front() == fc_start + 3 + 96);
  CHECK(w.layers[4].variance.back() == fc_start + 3 + 96 + 8);
}

TEST_CASE("header: seen is 64-bit from version 0.2, 32-bit before; 1000+ means transposed") {
  const Graph graph = small_graph();
  WeightsHeader old_header{0, 1, 0, 12345};
  CHECK_FALSE(old_header.seen_is_64bit());
  std::vector<char> bytes = counting_file(graph, old_header);
  CHECK(bytes.size() == expected_file_bytes(graph) - 4);
  Weights w = parse_weights(bytes, graph, "w.weights");
  CHECK(w.header.seen == 12345);
  CHECK(w.layers[0].biases.front() == 0.f);

  WeightsHeader new_header{0, 2, 5, 0x1'0000'0001ull};
  w = parse_weights(counting_file(graph, new_header), graph, "w.weights");
  CHECK(w.header.seen == 0x1'0000'0001ull);
  CHECK(w.header.revision == 5);

  // Transposed connected weights: stored inputs x outputs, read as outputs x inputs.
  WeightsHeader transposed{1000, 1001, 0, 7};
  CHECK(transposed.transposed());
  CHECK_FALSE(transposed.seen_is_64bit());
  bytes.assign(16, 0);
  std::memcpy(bytes.data() + 4, &transposed.minor, 4);
  for (std::int64_t i = 0; i < graph.total_params(); ++i) {
    const float value = static_cast<float>(i);
    const char* raw = reinterpret_cast<const char*>(&value);
    bytes.insert(bytes.end(), raw, raw + 4);
  }
  w = parse_weights(bytes, graph, "w.weights");
  const float fc_weights = 124 + 10 + 8 + 4 + 3;
  // The block's second float is (input 0, output 1), its fourth (input 1, output 0).
  CHECK(w.layers[4].weights[32] == fc_weights + 1);
  CHECK(w.layers[4].weights[1] == fc_weights + 3);
  CHECK(serialize_weights(graph, w) == bytes);  // writing transposes back
}

TEST_CASE("random weights round-trip through the writer and reader") {
  const Graph graph = load_graph(test::shared("cfg/yolov4-tiny.cfg"));
  const Weights written = random_weights(graph, 42);
  test::TempDir dir;
  const std::string path = dir.file("r.weights");
  write_weights(path, graph, written);
  CHECK(std::filesystem::file_size(path) == 24251276);
  const Weights read = read_weights(path, graph);
  for (std::size_t i = 0; i < graph.layers.size(); ++i) {
    CHECK(read.layers[i].weights == written.layers[i].weights);
    CHECK(read.layers[i].variance == written.layers[i].variance);
  }
  for (const float v : read.layers[0].variance) CHECK((v >= 0.5f && v <= 2.0f));
  CHECK(random_weights(graph, 42).layers[5].weights == written.layers[5].weights);
  CHECK(random_weights(graph, 43).layers[5].weights != written.layers[5].weights);
}

TEST_CASE("a short file names the layer that runs out") {
  const Graph graph = small_graph();
  std::vector<char> bytes = counting_file(graph, WeightsHeader{});
  bytes.resize(20 + 130 * 4);  // layer 0 needs 124 floats, layer 1 needs 10
  CHECK(error_of(bytes, graph) ==
        "w.weights: short weights file: layer 1 [convolutional] (w.cfg:11) needs bytes 516..556 but the file ends at "
        "byte 540 (4 of its 10 floats missing; the cfg needs 1036 bytes in all); the weights were probably trained "
        "with another cfg (different layers, filters or classes), or the file is truncated");
  bytes.resize(10);
  CHECK(error_of(bytes, graph) ==
        "w.weights: 10 bytes is too short for a Darknet weights header (16 or 20 bytes); the file is truncated or "
        "not a .weights file");
  bytes = std::vector<char>(16, 0);
  bytes[4] = 2;  // version 0.2: a 20-byte header
  CHECK(error_of(bytes, graph) ==
        "w.weights: 16 bytes is too short for a Darknet weights header (version 0.2 needs 20 bytes)");
}

TEST_CASE("a short file whose missing layer feeds a head blames the head's filters") {
  const Graph graph = load_graph(test::shared("cfg/yolov3-tiny.cfg"));
  const std::vector<char> full = serialize_weights(graph, random_weights(graph, 1));
  const std::vector<char> cut(full.begin(), full.end() - 1000);
  const std::string message = error_of(cut, graph);
  CHECK(message.find("layer 22 [convolutional]") != std::string::npos);
  CHECK(message.find("runs out in the convolution feeding the detection head layer 23 [yolo]") != std::string::npos);
}

TEST_CASE("trailing bytes are a warning with their count") {
  const Graph graph = small_graph();
  std::vector<char> bytes = counting_file(graph, WeightsHeader{});
  bytes.resize(bytes.size() + 12, 0);
  const Weights w = parse_weights(bytes, graph, "w.weights");
  CHECK(w.trailing_bytes == 12);
  REQUIRE(w.warnings.size() == 1);
  CHECK(w.warnings[0] == "w.weights: 12 bytes after the last layer's parameters (byte 1036 on) are ignored; the "
                         "weights may belong to a larger cfg");
}

TEST_CASE("a file far larger than the graph is refused before it is read") {
  const Graph graph = small_graph();
  test::TempDir dir;
  const std::string path = dir.file("huge.weights");
  { std::ofstream(path).close(); }
  std::filesystem::resize_file(path, kMaxTrailingBytes + 4096);  // sparse, costs no disk
  try {
    read_weights(path, graph);
    FAIL("expected an error");
  } catch (const Error& error) {
    CHECK(std::string(error.what()).find("huge.weights: weights file is 1073745920 bytes but the cfg needs only 1036") != std::string::npos);
  }
}

TEST_CASE("writing weights that do not fit the graph is refused") {
  const Graph graph = small_graph();
  Weights w = random_weights(graph, 3);
  w.layers[1].weights.pop_back();
  try {
    serialize_weights(graph, w);
    FAIL("expected an error");
  } catch (const Error& error) {
    CHECK(std::string(error.what()) == "layer 1 [convolutional] (w.cfg:11) has 7 weights but needs 8; the weights "
                                       "were made for another cfg");
  }
}

namespace {

std::string cfg_text_with_classes(const std::string& path, int classes) {
  const auto bytes = test::read_bytes(path);
  std::string text(bytes.begin(), bytes.end());
  const auto replace_all = [&](const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  };
  replace_all("classes=80", "classes=" + std::to_string(classes));
  replace_all("filters=255", "filters=" + std::to_string(3 * (classes + 5)));
  return text;
}

}  // namespace

TEST_CASE("weights trained for another class count: the diagnosis names the count that fits") {
  const std::string cfg = test::shared("cfg/yolov3-tiny.cfg");
  const Graph coco = load_graph(cfg);
  const Graph voc = build_graph(parse_cfg(cfg_text_with_classes(cfg, 20), "voc.cfg"));
  const Graph big = build_graph(parse_cfg(cfg_text_with_classes(cfg, 100), "big.cfg"));
  const std::vector<char> voc_file = serialize_weights(voc, random_weights(voc, 1));
  const std::string short_message = error_of(voc_file, coco);
  CHECK(short_message.find("the file fits exactly if the detection heads have classes=20 (not 80)") !=
        std::string::npos);
  const Weights w = parse_weights(serialize_weights(big, random_weights(big, 1)), coco, "big.weights");
  REQUIRE(w.warnings.size() == 1);
  CHECK(w.warnings[0].find("the file fits exactly if the detection heads have classes=100 (not 80)") !=
        std::string::npos);
}

TEST_CASE("a backbone file is recognised by where it ends") {
  const Graph graph = load_graph(test::shared("cfg/yolov3-tiny.cfg"));
  std::vector<char> bytes = serialize_weights(graph, random_weights(graph, 1));
  std::uint64_t end = 20;
  for (int i = 0; i < 13; ++i) end += static_cast<std::uint64_t>(graph.layers[static_cast<std::size_t>(i)].param_count) * 4;
  bytes.resize(end);
  WeightsFit fit;
  const Weights partial = parse_weights_partial(bytes, graph, "backbone.weights", fit);
  CHECK(fit.first_incomplete_layer == 13);
  CHECK(static_cast<std::int64_t>(partial.layers[12].weights.size()) == graph.layers[12].param_count - 4 * 1024);
  CHECK(partial.layers[13].weights.empty());
  CHECK(fit.missing_floats == (graph.total_params() * 4 + 20 - static_cast<std::int64_t>(end)) / 4);
  CHECK(diagnose_misfit(graph, fit).find("ends exactly after layer 12: it holds only the first 13 layers") !=
        std::string::npos);
}

TEST_CASE("deferred kernels: left in the file, read as stored, and a file cut short afterwards is an error") {
  const Graph graph = small_graph();
  const test::TempDir dir;
  const std::vector<char> bytes = counting_file(graph, WeightsHeader{});
  const std::string path = dir.write_bytes("w.weights", bytes);
  const Weights eager = read_weights(path, graph);
  DeferredKernels deferred;
  const Weights lazy = read_weights_deferring_kernels(path, graph, deferred);
  for (const Layer& layer : graph.layers) {
    const LayerParams& a = eager.layers[static_cast<std::size_t>(layer.index)];
    const LayerParams& b = lazy.layers[static_cast<std::size_t>(layer.index)];
    INFO(graph.describe(layer.index));
    CHECK(a.biases == b.biases);
    CHECK(a.scales == b.scales);
    CHECK(a.variance == b.variance);
    CHECK(deferred.holds(layer.index) == (layer.kind == LayerKind::Convolutional));
    if (deferred.holds(layer.index)) {
      CHECK(b.weights.empty());
      REQUIRE(deferred.floats(layer.index) == a.weights.size());
      std::vector<float> kernel(deferred.floats(layer.index));
      deferred.read(layer.index, kernel.data());
      CHECK(kernel == a.weights);
    } else {
      CHECK(a.weights == b.weights);
    }
  }
  std::filesystem::resize_file(path, 40);  // changed on disk after the check: layer 0's kernel is gone
  std::vector<float> kernel(deferred.floats(0));
  CHECK_THROWS_WITH_AS(deferred.read(0, kernel.data()), doctest::Contains("it ended early"), Error);
}
