// dusk adapt-bn: training-mode BatchNorm statistics against a hand-written
// computation of two 1x1 convolutions, the output file against the input
// byte for byte, and refusals. PyTorch's own BatchNorm is the oracle on a
// real model in tests/python/test_torch.py.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "dusk/dusk.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

const std::string kTwoConvs = R"([net]
width=4
height=3
channels=3

[convolutional]
batch_normalize=1
filters=2
size=1
stride=1
pad=0
activation=leaky

[convolutional]
batch_normalize=1
filters=3
size=1
stride=1
pad=0
activation=linear
)";

Graph graph_of(const std::string& text) { return build_graph(parse_cfg(text, "test.cfg")); }

std::vector<Tensor> random_inputs(const Shape& shape, int count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<Tensor> inputs;
  for (int i = 0; i < count; ++i) {
    Tensor t(shape);
    for (float& v : t.data) v = uniform(rng);
    inputs.push_back(std::move(t));
  }
  return inputs;
}

// Per image, per output channel, per pixel: a 1x1 convolution without bias.
using Maps = std::vector<std::vector<std::vector<double>>>;
Maps conv1x1(const Maps& in, const std::vector<float>& kernel, int filters) {
  Maps out(in.size(), std::vector<std::vector<double>>(static_cast<std::size_t>(filters)));
  const std::size_t channels = in[0].size(), pixels = in[0][0].size();
  for (std::size_t i = 0; i < in.size(); ++i) {
    for (int f = 0; f < filters; ++f) {
      out[i][static_cast<std::size_t>(f)].assign(pixels, 0.0);
      for (std::size_t c = 0; c < channels; ++c) {
        for (std::size_t p = 0; p < pixels; ++p) {
          out[i][static_cast<std::size_t>(f)][p] += kernel[static_cast<std::size_t>(f) * channels + c] * in[i][c][p];
        }
      }
    }
  }
  return out;
}

struct ChannelStats {
  std::vector<double> mean, biased, unbiased;
};
ChannelStats stats_of(const Maps& maps) {
  ChannelStats s;
  for (std::size_t c = 0; c < maps[0].size(); ++c) {
    double sum = 0, n = 0;
    for (const auto& image : maps) {
      for (const double v : image[c]) sum += v, n += 1;
    }
    const double mean = sum / n;
    double squares = 0;
    for (const auto& image : maps) {
      for (const double v : image[c]) squares += (v - mean) * (v - mean);
    }
    s.mean.push_back(mean);
    s.biased.push_back(squares / n);
    s.unbiased.push_back(squares / (n - 1));
  }
  return s;
}

// Normalized by the batch's own statistics, then gamma, beta and leaky.
Maps normalize(Maps maps, const ChannelStats& s, const LayerParams& p, bool leaky) {
  for (auto& image : maps) {
    for (std::size_t c = 0; c < image.size(); ++c) {
      for (double& v : image[c]) {
        v = (v - s.mean[c]) / std::sqrt(s.biased[c] + 1e-5) * p.scales[c] + p.biases[c];
        if (leaky && v < 0) v *= 0.1;
      }
    }
  }
  return maps;
}

Maps as_maps(const std::vector<Tensor>& inputs) {
  Maps maps;
  for (const Tensor& t : inputs) {
    const std::size_t pixels = static_cast<std::size_t>(t.shape.h) * t.shape.w;
    std::vector<std::vector<double>> image(static_cast<std::size_t>(t.shape.c));
    for (std::size_t c = 0; c < image.size(); ++c) image[c].assign(t.data.begin() + c * pixels, t.data.begin() + (c + 1) * pixels);
    maps.push_back(std::move(image));
  }
  return maps;
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tolerance) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("channel " << i);
    CHECK(std::abs(got[i] - want[i]) <= tolerance * std::max(1.0, std::abs(want[i])));
  }
}

std::string write_png(const test::TempDir& dir, const std::string& name, int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  Image image(w, h, 3);
  for (float& v : image.data) v = uniform(rng);
  const std::string path = dir.file(name);
  save_image(image, path, ImageFormat::Png);
  return path;
}

}  // namespace

TEST_CASE("adapt-bn's statistics are the batches' own, averaged over batches") {
  const Graph graph = graph_of(kTwoConvs);
  const Weights weights = random_weights(graph, 7);
  AdaptBnOptions options;
  options.batch = 3;
  BatchNormAdapter adapter(graph, weights, options);
  CHECK(adapter.batchnorm_layers() == std::vector<int>{0, 1});

  const std::vector<std::vector<Tensor>> batches = {random_inputs(graph.input, 3, 1), random_inputs(graph.input, 2, 2)};
  std::vector<ChannelStats> first, second;  // per batch
  for (const auto& batch : batches) {
    adapter.add_batch(batch);
    const Maps pre0 = conv1x1(as_maps(batch), weights.layers[0].weights, 2);
    const ChannelStats s0 = stats_of(pre0);
    const Maps pre1 = conv1x1(normalize(pre0, s0, weights.layers[0], true), weights.layers[1].weights, 3);
    first.push_back(s0);
    second.push_back(stats_of(pre1));
  }
  CHECK(adapter.batches() == 2);
  CHECK(adapter.images() == 5);
  // Cumulative: the plain average of the two batches' mean and unbiased variance.
  const auto average = [](double a, double b) { return (a + b) / 2; };
  std::vector<double> mean0, var0, mean1, var1;
  for (std::size_t c = 0; c < 2; ++c) {
    mean0.push_back(average(first[0].mean[c], first[1].mean[c]));
    var0.push_back(average(first[0].unbiased[c], first[1].unbiased[c]));
  }
  for (std::size_t c = 0; c < 3; ++c) {
    mean1.push_back(average(second[0].mean[c], second[1].mean[c]));
    var1.push_back(average(second[0].unbiased[c], second[1].unbiased[c]));
  }
  check_close(adapter.weights().layers[0].mean, mean0, 1e-5);
  check_close(adapter.weights().layers[0].variance, var0, 1e-5);
  check_close(adapter.weights().layers[1].mean, mean1, 1e-5);
  check_close(adapter.weights().layers[1].variance, var1, 1e-5);
  // Nothing else moved.
  for (int layer = 0; layer < 2; ++layer) {
    CHECK(adapter.weights().layers[layer].weights == weights.layers[layer].weights);
    CHECK(adapter.weights().layers[layer].biases == weights.layers[layer].biases);
    CHECK(adapter.weights().layers[layer].scales == weights.layers[layer].scales);
  }

  SUBCASE("with a momentum the file's statistics are the starting point") {
    options.momentum = 0.25;
    BatchNormAdapter ema(graph, weights, options);
    ema.add_batch(batches[0]);
    std::vector<double> want_mean, want_var;
    for (std::size_t c = 0; c < 2; ++c) {
      want_mean.push_back(0.75 * weights.layers[0].mean[c] + 0.25 * first[0].mean[c]);
      want_var.push_back(0.75 * weights.layers[0].variance[c] + 0.25 * first[0].unbiased[c]);
    }
    check_close(ema.weights().layers[0].mean, want_mean, 1e-5);
    check_close(ema.weights().layers[0].variance, want_var, 1e-5);
  }
}

TEST_CASE("adapt-bn refuses what it cannot adapt") {
  const Graph plain = graph_of("[net]\nwidth=4\nheight=4\nchannels=3\n\n[convolutional]\nfilters=2\nsize=1\n");
  CHECK_THROWS_WITH_AS(BatchNormAdapter(plain, random_weights(plain, 1), {}),
                       doctest::Contains("has no BatchNorm"), Error);
  const Graph graph = graph_of(kTwoConvs);
  AdaptBnOptions options;
  options.batch = 0;
  CHECK_THROWS_WITH_AS(BatchNormAdapter(graph, random_weights(graph, 1), options), doctest::Contains("batch 0"), Error);
  options.batch = 2;
  options.momentum = 1.5;
  CHECK_THROWS_WITH_AS(BatchNormAdapter(graph, random_weights(graph, 1), options), doctest::Contains("momentum 1.5"),
                       Error);
  // A 1x1 output has one value per channel per image: one image is no batch.
  const Graph connected = graph_of("[net]\nwidth=2\nheight=2\nchannels=3\n\n[connected]\noutput=4\nbatch_normalize=1\n");
  BatchNormAdapter adapter(connected, random_weights(connected, 1), {});
  CHECK(adapter.smallest_batch() == 2);
  CHECK_THROWS_WITH_AS(adapter.add_batch(random_inputs(connected.input, 1, 3)), doctest::Contains("needs 2 images"),
                       Error);
}

TEST_CASE("adapt-bn's file differs from the input only in the statistics and seen") {
  test::TempDir dir;
  const std::string cfg = dir.write("two.cfg", kTwoConvs);
  const Graph graph = graph_of(kTwoConvs);
  const std::string weights_path = dir.file("in.weights");
  write_weights(weights_path, graph, random_weights(graph, 3));
  std::vector<std::string> images;
  for (int i = 0; i < 5; ++i) images.push_back(write_png(dir, "i" + std::to_string(i) + ".png", 9, 7, 10 + i));
  images.insert(images.begin() + 2, dir.write("broken.jpg", "not a jpeg"));
  AdaptBnOptions options;
  options.batch = 2;
  const AdaptBnResult result = adapt_batchnorm(cfg, weights_path, images, dir.file("out.weights"), options);
  CHECK(result.images == 5);
  CHECK(result.batches == 3);  // 2 + 2 + 1 (one image has 12 values per channel)
  REQUIRE(result.skipped.size() == 1);
  CHECK(result.skipped[0].first == images[2]);
  CHECK(result.skipped[0].second.find("broken.jpg") != std::string::npos);

  const std::vector<char> in = test::read_bytes(weights_path);
  const std::vector<char> out = test::read_bytes(dir.file("out.weights"));
  REQUIRE(in.size() == out.size());
  const Weights before = read_weights(weights_path, graph);
  const Weights after = read_weights(dir.file("out.weights"), graph);
  CHECK(after.header.seen == before.header.seen + 5);
  CHECK(result.seen == after.header.seen);
  // Bytes that may differ: seen (12..20), and each layer's mean and variance.
  std::vector<bool> may_differ(in.size(), false);
  for (std::size_t i = 12; i < before.header.size_bytes(); ++i) may_differ[i] = true;
  for (const Layer& layer : graph.layers) {
    const LayerParams& p = before.layers[static_cast<std::size_t>(layer.index)];
    const std::size_t channels = p.biases.size();
    const std::size_t mean_at = p.offset + 2 * channels * sizeof(float);  // after biases and scales
    for (std::size_t i = mean_at; i < mean_at + 2 * channels * sizeof(float); ++i) may_differ[i] = true;
    CHECK(after.layers[static_cast<std::size_t>(layer.index)].mean != p.mean);
    CHECK(after.layers[static_cast<std::size_t>(layer.index)].variance != p.variance);
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!may_differ[i] && in[i] != out[i]) FAIL("byte " << i << " changed");
  }

  SUBCASE("refusals") {
    CHECK_THROWS_WITH_AS(adapt_batchnorm(cfg, weights_path, images, weights_path, options),
                         doctest::Contains("is the input"), Error);
    CHECK_THROWS_WITH_AS(adapt_batchnorm(cfg, weights_path, images, images[0], options),
                         doctest::Contains("is the input"), Error);
    CHECK_THROWS_WITH_AS(adapt_batchnorm(cfg, weights_path, {images[2]}, dir.file("none.weights"), options),
                         doctest::Contains("none of the 1 images could be used"), Error);
    CHECK_FALSE(std::filesystem::exists(dir.file("none.weights")));
  }
}

TEST_CASE("dusk adapt-bn on the command line, and dusk diff shows only statistics moved") {
  test::TempDir dir;
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const std::string weights = test::shared("models/yolo-fastest-1.1.weights");
  const std::string images = test::darknet_data("dog.jpg") + " " + test::darknet_data("eagle.jpg") + " " +
                             test::darknet_data("person.jpg") + " " + dir.write("bad.png", "nope");
  const auto run = test::run_command(test::kDuskBinary + " adapt-bn " + cfg + " " + weights + " " + images + " -o " +
                                     dir.file("a.weights") + " --batch 2");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.err.find("skipped " + dir.file("bad.png")) != std::string::npos);
  CHECK(run.err.find("3 images in 2 batches (1 skipped)") != std::string::npos);
  const auto diff = test::run_command(test::kDuskBinary + " diff " + cfg + " " + weights + " " + dir.file("a.weights"));
  INFO(diff.out);
  REQUIRE(diff.exit_code == 0);
  CHECK(diff.out.find("seen 14231680 vs 14231683") != std::string::npos);
  CHECK(diff.out.find(" mean ") != std::string::npos);
  CHECK(diff.out.find(" weights ") == std::string::npos);
  CHECK(diff.out.find(" biases ") == std::string::npos);
  CHECK(diff.out.find(" scales ") == std::string::npos);

  const auto same = test::run_command(test::kDuskBinary + " adapt-bn " + cfg + " " + weights + " " + images + " -o " +
                                      weights);
  CHECK(same.exit_code == 2);
  CHECK(same.err.find("is the input") != std::string::npos);
  const std::string plain_cfg = dir.write("p.cfg", "[net]\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nfilters=2\nsize=1\n");
  const Graph plain = load_graph(plain_cfg);
  write_weights(dir.file("p.weights"), plain, random_weights(plain, 1));
  const auto no_bn = test::run_command(test::kDuskBinary + " adapt-bn " + plain_cfg + " " + dir.file("p.weights") + " " +
                                       images + " -o " + dir.file("b.weights"));
  CHECK(no_bn.exit_code == 1);
  CHECK(no_bn.err.find("has no BatchNorm") != std::string::npos);
}
