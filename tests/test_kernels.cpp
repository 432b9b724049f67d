// The reference kernels against independent oracles: the mathematical
// definitions in double precision, hand-worked examples, and a direct
// convolution written as the textbook sum.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "dusk/dusk.hpp"
#include "engine/activations.hpp"
#include "engine/fold.hpp"
#include "engine/kernels/ref/ref_kernels.hpp"
#include "support/compare.hpp"
#include "support/fixtures.hpp"

using namespace dusk;

namespace {

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Each activation's textbook definition (with Darknet's constants).
double activation_oracle(Activation a, double x) {
  switch (a) {
    case Activation::Linear: return x;
    case Activation::Leaky:
    case Activation::Revleaky: return x > 0 ? x : 0.1 * x;
    case Activation::Relu: return std::max(0.0, x);
    case Activation::Relu6: return std::clamp(x, 0.0, 6.0);
    case Activation::Logistic: return sigmoid(x);
    case Activation::Tanh: return std::tanh(x);
    case Activation::Elu: return x >= 0 ? x : std::expm1(x);
    case Activation::Selu: return 1.0507 * (x >= 0 ? x : 1.6732 * std::expm1(x));
    case Activation::Gelu: return 0.5 * x * (1 + std::tanh(0.797885 * x + 0.035677 * x * x * x));
    case Activation::Swish: return x * sigmoid(x);
    case Activation::Mish: return x * std::tanh(std::log1p(std::exp(x)));
    case Activation::HardMish: return x > 0 ? x : (x > -2 ? x * x / 2 + x : 0);
    case Activation::Relie: return x > 0 ? x : 0.01 * x;
    case Activation::Ramp: return x > 0 ? 1.1 * x : 0.1 * x;
    case Activation::Plse: return x < -4 ? 0.01 * (x + 4) : (x > 4 ? 0.01 * (x - 4) + 1 : 0.125 * x + 0.5);
    case Activation::Stair: {
      const double n = std::floor(x);
      return std::fmod(n, 2) == 0 ? std::floor(x / 2) : (x - n) + std::floor(x / 2);
    }
    case Activation::Hardtan: return std::clamp(x, -1.0, 1.0);
    case Activation::Lhtan: return x < 0 ? 0.001 * x : (x > 1 ? 0.001 * (x - 1) + 1 : x);
    case Activation::Loggy: return std::tanh(x / 2);
    default: return NAN;
  }
}

std::vector<float> random_vector(std::size_t n, std::mt19937& engine, float low = -1.f, float high = 1.f) {
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> v(n);
  for (float& x : v) x = dist(engine);
  return v;
}

// out[f][y][x] = b[f] + sum over the group's channels and the kernel window,
// zero outside the input; the sum written exactly as it is defined.
std::vector<float> textbook_conv(const std::vector<float>& in, Shape in_shape, const std::vector<float>& w,
                                 const std::vector<float>& b, const ConvSpec& s, Shape out_shape) {
  std::vector<float> out(static_cast<std::size_t>(out_shape.size()));
  const int cg = in_shape.c / s.groups;
  const int fg = s.filters / s.groups;
  for (int f = 0; f < s.filters; ++f) {
    for (int y = 0; y < out_shape.h; ++y) {
      for (int x = 0; x < out_shape.w; ++x) {
        double sum = b[static_cast<std::size_t>(f)];
        for (int c = 0; c < cg; ++c) {
          for (int ky = 0; ky < s.size; ++ky) {
            for (int kx = 0; kx < s.size; ++kx) {
              const int iy = y * s.stride_y + (ky - s.pad) * s.dilation;
              const int ix = x * s.stride_x + (kx - s.pad) * s.dilation;
              if (iy < 0 || ix < 0 || iy >= in_shape.h || ix >= in_shape.w) continue;
              const int channel = (f / fg) * cg + c;
              sum += double{w[static_cast<std::size_t>(((f * cg + c) * s.size + ky) * s.size + kx)]} *
                     in[static_cast<std::size_t>((channel * in_shape.h + iy) * in_shape.w + ix)];
            }
          }
        }
        out[static_cast<std::size_t>((f * out_shape.h + y) * out_shape.w + x)] = static_cast<float>(sum);
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every pointwise activation equals its definition") {
  const double xs[] = {-25, -5, -2.5, -1.5, -1, -0.3, 0, 0.2, 0.7, 1, 1.5, 2.5, 4.5, 5, 7, 25};
  for (int i = 0; i < static_cast<int>(Activation::Count); ++i) {
    const auto a = static_cast<Activation>(i);
    if (activation_mixes_channels(a)) continue;
    for (const double x : xs) {
      const double expected = activation_oracle(a, x);
      INFO(activation_name(a) << "(" << x << ") expected " << expected);
      CHECK(activate(static_cast<float>(x), a) == doctest::Approx(expected).epsilon(2e-5).scale(1.0));
    }
  }
}

TEST_CASE("activation names round-trip and unknown names are rejected") {
  for (int i = 0; i < static_cast<int>(Activation::Count); ++i) {
    const auto a = static_cast<Activation>(i);
    CHECK(activation_from_name(activation_name(a)) == a);
  }
  CHECK_FALSE(activation_from_name("Leaky").has_value());
}

TEST_CASE("normalize_channels activations work across channels at each pixel") {
  const Shape shape{3, 1, 2};
  // pixel 0: (1, -2, 3); pixel 1: (0.5, 0.5, 0)
  std::vector<float> data = {1, 0.5f, -2, 0.5f, 3, 0};
  apply_activation(Activation::NormalizeChannels, data.data(), shape, 1);
  CHECK(data[0] == doctest::Approx(1 / 4.0001));
  CHECK(data[2] == 0.f);
  CHECK(data[4] == doctest::Approx(3 / 4.0001));
  CHECK(data[1] == doctest::Approx(0.5 / 1.0001));

  std::vector<float> soft = {1, 0, 2, 0, 3, 0};
  apply_activation(Activation::NormalizeChannelsSoftmaxMaxval, soft.data(), shape, 1);
  const double sum = std::exp(-2.0) + std::exp(-1.0) + 1 + 0.0001;
  CHECK(soft[4] == doctest::Approx(1 / sum));
  CHECK(soft[0] == doctest::Approx(std::exp(-2.0) / sum));
  std::vector<float> plain = {1, 0, 2, 0, 3, 0};
  apply_activation(Activation::NormalizeChannelsSoftmax, plain.data(), shape, 1);
  const double plain_sum = std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + 0.0001;
  CHECK(plain[2] == doctest::Approx(std::exp(2.0) / plain_sum));
}

TEST_CASE("convolution: a hand-worked 3x3 example with padding and stride") {
  const std::vector<float> in = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // one 3x3 channel
  const std::vector<float> w = {1, 0, 0, -1};                    // 2x2: top-left minus bottom-right
  ConvSpec spec;
  spec.filters = 1;
  spec.size = 2;
  spec.pad = 1;
  spec.stride_x = spec.stride_y = 2;
  const Shape out_shape{1, 2, 2};  // (3 + 2 - 2) / 2 + 1
  std::vector<float> out(4);
  const float bias = 0.5f;
  ref::conv2d(in.data(), Shape{1, 3, 3}, w.data(), &bias, spec, out.data(), out_shape, 1);
  // Window at (-1,-1): only its bottom-right, 1, is inside -> -1; at (-1,1): -4;
  // at (1,-1): -8; at (1,1): 5 - 9.
  CHECK(out == std::vector<float>{0.5f - 1, 0.5f - 3, 0.5f - 7, 0.5f + 5 - 9});
}

TEST_CASE("convolution matches the textbook sum on random shapes, groups, strides and dilations") {
  std::mt19937 engine(11);
  struct Case {
    int c, h, w, filters, size, stride_x, stride_y, pad, groups, dilation;
  };
  const Case cases[] = {
      {3, 7, 9, 5, 3, 1, 1, 1, 1, 1},   {4, 8, 8, 6, 3, 2, 2, 1, 2, 1},   {6, 9, 7, 6, 3, 1, 1, 1, 6, 1},
      {8, 5, 11, 4, 1, 1, 1, 0, 1, 1},  {3, 13, 13, 7, 5, 2, 2, 2, 1, 1}, {4, 10, 9, 8, 3, 1, 1, 1, 1, 2},
      {2, 12, 12, 4, 3, 2, 1, 1, 2, 3}, {5, 6, 6, 5, 5, 1, 1, 0, 5, 1},   {16, 17, 19, 32, 3, 1, 1, 1, 1, 1},
      {3, 4, 4, 2, 7, 1, 1, 3, 1, 1},   {9, 15, 8, 3, 2, 2, 2, 0, 3, 1},  {4, 9, 9, 4, 3, 3, 3, 1, 4, 2},
  };
  for (const Case& c : cases) {
    ConvSpec spec;
    spec.filters = c.filters;
    spec.size = c.size;
    spec.stride_x = c.stride_x;
    spec.stride_y = c.stride_y;
    spec.pad = c.pad;
    spec.groups = c.groups;
    spec.dilation = c.dilation;
    const Shape in_shape{c.c, c.h, c.w};
    const Shape out_shape{c.filters, (c.h + 2 * c.pad - c.size) / c.stride_y + 1,
                          (c.w + 2 * c.pad - c.size) / c.stride_x + 1};
    const auto in = random_vector(static_cast<std::size_t>(in_shape.size()), engine);
    const auto w = random_vector(static_cast<std::size_t>(c.filters * (c.c / c.groups) * c.size * c.size), engine);
    const auto b = random_vector(static_cast<std::size_t>(c.filters), engine);
    std::vector<float> out(static_cast<std::size_t>(out_shape.size()));
    ref::conv2d(in.data(), in_shape, w.data(), b.data(), spec, out.data(), out_shape, 2);
    const test::Difference d = test::compare(out, textbook_conv(in, in_shape, w, b, spec, out_shape));
    INFO("case c=" << c.c << " " << c.h << "x" << c.w << " f=" << c.filters << " k=" << c.size << " s=" << c.stride_x
                   << "," << c.stride_y << " p=" << c.pad << " g=" << c.groups << " d=" << c.dilation << ": "
                   << test::describe(d));
    CHECK(d.max_abs <= 1e-5);
  }
}

TEST_CASE("connected layer is a matrix-vector product plus bias") {
  const std::vector<float> in = {1, 2, 3};
  const std::vector<float> w = {1, 0, 0, 0, 1, 1};  // 2 outputs x 3 inputs
  const std::vector<float> b = {0.5f, -1};
  std::vector<float> out(2);
  ref::connected(in.data(), 3, w.data(), b.data(), 2, out.data(), 1);
  CHECK(out == std::vector<float>{1.5f, 4});
}

TEST_CASE("maxpool and local_avgpool windows start at -padding/2 and skip the outside") {
  const std::vector<float> in = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  PoolSpec spec;  // size 2, stride 1, padding 1 (Darknet's default size-1): offset 0
  spec.size = 2;
  spec.padding = 1;
  std::vector<float> out(9);
  ref::maxpool(in.data(), Shape{1, 3, 3}, spec, out.data(), Shape{1, 3, 3}, 1);
  CHECK(out == std::vector<float>{5, 6, 6, 8, 9, 9, 8, 9, 9});
  ref::local_avgpool(in.data(), Shape{1, 3, 3}, spec, out.data(), Shape{1, 3, 3}, 1);
  CHECK(out == std::vector<float>{3, 4, 4.5f, 6, 7, 7.5f, 7.5f, 8.5f, 9});

  PoolSpec wide;  // size 3, stride 2, padding 2: offset -1, output (3+2-3)/2+1 = 2
  wide.size = 3;
  wide.stride_x = wide.stride_y = 2;
  wide.padding = 2;
  std::vector<float> small(4);
  ref::maxpool(in.data(), Shape{1, 3, 3}, wide, small.data(), Shape{1, 2, 2}, 1);
  CHECK(small == std::vector<float>{5, 6, 8, 9});
  ref::local_avgpool(in.data(), Shape{1, 3, 3}, wide, small.data(), Shape{1, 2, 2}, 1);
  CHECK(small == std::vector<float>{3, 4, 6, 7});

  const std::vector<float> depth_in = {1, 9, 5, 2, 3, 4, 8, 0};  // 4 channels x 1x2
  std::vector<float> depth_out(4);
  ref::maxpool_depth(depth_in.data(), Shape{4, 1, 2}, depth_out.data(), Shape{2, 1, 2}, 1);
  CHECK(depth_out == std::vector<float>{3, 9, 8, 2});  // channel g = max(g, g+2)

  std::vector<float> mean(1);
  ref::global_avgpool(in.data(), Shape{1, 3, 3}, mean.data());
  CHECK(mean[0] == 5.f);
}

TEST_CASE("route concatenates channel slices") {
  const std::vector<float> a = {1, 2, 3, 4};  // 4 channels of 1x1
  const std::vector<float> b = {5, 6};        // 2 channels
  std::vector<float> out(3);
  ref::route({a.data(), b.data()}, {Shape{4, 1, 1}, Shape{2, 1, 1}}, 2, 1, out.data());
  CHECK(out == std::vector<float>{3, 4, 6});
  std::vector<float> all(6);
  ref::route({a.data(), b.data()}, {Shape{4, 1, 1}, Shape{2, 1, 1}}, 1, 0, all.data());
  CHECK(all == std::vector<float>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("shortcut adds over the shared channels, with optional weights") {
  const std::vector<float> in = {1, 2, 3};  // 3 channels of 1x1
  const std::vector<float> from = {10, 20};  // 2 channels: adds into the first two
  std::vector<float> out(3);
  ref::shortcut(in.data(), Shape{3, 1, 1}, {from.data()}, {Shape{2, 1, 1}}, {}, ShortcutWeights::None, out.data());
  CHECK(out == std::vector<float>{11, 22, 3});
  ref::shortcut(in.data(), Shape{3, 1, 1}, {from.data()}, {Shape{2, 1, 1}}, {2, 0.5f}, ShortcutWeights::PerFeature,
                out.data());
  CHECK(out == std::vector<float>{7, 14, 6});
  // Per channel: weights[source][channel].
  ref::shortcut(in.data(), Shape{3, 1, 1}, {from.data()}, {Shape{2, 1, 1}}, {1, 2, 3, 0.1f, 0.2f, 0.3f},
                ShortcutWeights::PerChannel, out.data());
  CHECK(out[0] == doctest::Approx(2));
  CHECK(out[1] == doctest::Approx(8));
  CHECK(out[2] == doctest::Approx(9));
}

TEST_CASE("shortcut from a larger source takes every stride-th cell; from a smaller one fills every step-th") {
  // from 1x4x4 (values 0..15) into 2x2x2 (all 100): stride 2 picks cells (0,0) (0,2) (2,0) (2,2) = 0, 2, 8, 10.
  std::vector<float> from(16);
  for (int i = 0; i < 16; ++i) from[static_cast<std::size_t>(i)] = static_cast<float>(i);
  std::vector<float> in(8, 100.f);
  std::vector<float> out(8);
  ref::shortcut(in.data(), Shape{2, 2, 2}, {from.data()}, {Shape{1, 4, 4}}, {}, ShortcutWeights::None, out.data());
  CHECK(out == std::vector<float>{100, 102, 108, 110, 100, 100, 100, 100});  // channel 1: beyond the source's channels
  // from 1x2x2 (1, 2, 3, 4) into 1x5x5 zeros: step 2 writes rows/columns 0 and 2 only.
  std::vector<float> small = {1, 2, 3, 4};
  std::vector<float> zeros(25, 0.f);
  std::vector<float> spread(25);
  ref::shortcut(zeros.data(), Shape{1, 5, 5}, {small.data()}, {Shape{1, 2, 2}}, {}, ShortcutWeights::None, spread.data());
  CHECK(spread == std::vector<float>{1, 0, 2, 0, 0,  //
                                     0, 0, 0, 0, 0,  //
                                     3, 0, 4, 0, 0,  //
                                     0, 0, 0, 0, 0,  //
                                     0, 0, 0, 0, 0});
}

TEST_CASE("crop takes the centred window and maps v to v * scale + shift") {
  // 1x4x5 input 0..19; a 2x3 window starts at row (4-2)/2 = 1, column (5-3)/2 = 1.
  std::vector<float> in(20);
  for (int i = 0; i < 20; ++i) in[static_cast<std::size_t>(i)] = static_cast<float>(i);
  std::vector<float> out(6);
  CropSpec spec;
  spec.width = 3;
  spec.height = 2;
  ref::centre_crop(in.data(), Shape{1, 4, 5}, spec, out.data(), Shape{1, 2, 3});
  CHECK(out == std::vector<float>{11, 13, 15, 21, 23, 25});  // 2v - 1 of 6, 7, 8, 11, 12, 13
  spec.scale = 1;
  spec.shift = 0;
  ref::centre_crop(in.data(), Shape{1, 4, 5}, spec, out.data(), Shape{1, 2, 3});
  CHECK(out == std::vector<float>{6, 7, 8, 11, 12, 13});
}

TEST_CASE("shortcut weight normalisation at load follows Darknet's fuse step") {
  Layer layer;
  layer.kind = LayerKind::Shortcut;
  ShortcutSpec spec;
  spec.from = {0};
  spec.weights_type = ShortcutWeights::PerFeature;
  spec.normalization = ShortcutNormalization::Relu;
  layer.spec = spec;
  LayerParams params;
  params.weights = {3, -1};  // relu normalisation floors at 0.001
  FoldedLayer folded = fold_layer(layer, params, "t.cfg");
  CHECK(folded.weights[0] == doctest::Approx(3 / 3.0011));
  CHECK(folded.weights[1] == doctest::Approx(0.001 / 3.0011));
  spec.normalization = ShortcutNormalization::Softmax;
  layer.spec = spec;
  folded = fold_layer(layer, params, "t.cfg");
  const double sum = 1 + std::exp(-4.0) + 0.0001;
  CHECK(folded.weights[0] == doctest::Approx(1 / sum));
  CHECK(folded.weights[1] == doctest::Approx(std::exp(-4.0) / sum));
}

TEST_CASE("upsample repeats and scales; a negative stride sums blocks") {
  const std::vector<float> in = {1, 2, 3, 4};  // 1 channel 2x2
  UpsampleSpec up;
  up.stride = 2;
  up.scale = 0.5f;
  std::vector<float> out(16);
  ref::upsample(in.data(), Shape{1, 2, 2}, up, out.data(), Shape{1, 4, 4});
  CHECK(out == std::vector<float>{0.5f, 0.5f, 1, 1, 0.5f, 0.5f, 1, 1, 1.5f, 1.5f, 2, 2, 1.5f, 1.5f, 2, 2});
  UpsampleSpec down;
  down.stride = 2;
  down.downsample = true;
  std::vector<float> one(1);
  ref::upsample(in.data(), Shape{1, 2, 2}, down, one.data(), Shape{1, 1, 1});
  CHECK(one[0] == 10.f);
}

TEST_CASE("reorg3d is space-to-depth") {
  // [reorg3d] stride 2 on 2 channels of 4x6: channel k of the output takes
  // the cell offset ((k / 2) % 2, (k / 2) / 2) of channel k % 2.
  const Graph graph = build_graph(parse_cfg(
      "[net]\nwidth=6\nheight=4\nchannels=2\n[reorg3d]\nstride=2\n", "r.cfg"));
  CHECK(graph.layers[0].out == Shape{8, 2, 3});
  Tensor input(graph.input);
  for (std::size_t i = 0; i < input.data.size(); ++i) input.data[i] = static_cast<float>(i);
  const Network network(graph, random_weights(graph, 1));
  const std::vector<Tensor> out = network.forward(input, {0});
  for (int k = 0; k < 8; ++k) {
    for (int j = 0; j < 2; ++j) {
      for (int i = 0; i < 3; ++i) {
        const int offset = k / 2;
        const int source = ((k % 2) * 4 + j * 2 + offset / 2) * 6 + i * 2 + offset % 2;
        CHECK(out[0].data[static_cast<std::size_t>((k * 2 + j) * 3 + i)] == static_cast<float>(source));
      }
    }
  }
}

TEST_CASE("old [reorg] forward and reverse are inverse permutations") {
  std::vector<float> in(32);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  std::vector<float> forward(32);
  std::vector<float> back(32);
  ref::darknet_reorg(in.data(), 2, 4, 4, 2, false, forward.data());
  ref::darknet_reorg(forward.data(), 2, 4, 4, 2, true, back.data());
  CHECK(back == in);
  CHECK(forward != in);
  // Its exact layout is checked against OpenCV on yolov2 (test_opencv_parity).
}

TEST_CASE("yolo activation: logistic, then x and y scaled about 0.5") {
  YoloSpec spec;
  spec.classes = 1;
  spec.mask = {0};
  spec.scale_x_y = 2.0f;
  std::vector<float> data = {0, 1, 2, 3, 0, 1};  // x, y, w, h, objectness, class at one cell
  ref::yolo_activate(data.data(), Shape{6, 1, 1}, spec);
  CHECK(data[0] == doctest::Approx(0.5));  // 2*0.5 - 0.5
  CHECK(data[1] == doctest::Approx(2 * sigmoid(1) - 0.5));
  CHECK(data[2] == 2.f);  // w, h untouched
  CHECK(data[3] == 3.f);
  CHECK(data[4] == doctest::Approx(0.5));
  CHECK(data[5] == doctest::Approx(sigmoid(1)));

  spec.new_coords = true;  // the conv applied logistic already: only the scaling
  std::vector<float> raw = {0.25f, 0.75f, 2, 3, 0.4f, 0.6f};
  ref::yolo_activate(raw.data(), Shape{6, 1, 1}, spec);
  CHECK(raw == std::vector<float>{0.0f, 1.0f, 2, 3, 0.4f, 0.6f});
}

TEST_CASE("Gaussian_yolo activation covers means, sigmas, objectness and classes") {
  YoloSpec spec;
  spec.classes = 1;
  spec.mask = {0};
  std::vector<float> data(10, 1.0f);  // x, sx, y, sy, w, sw, h, sh, obj, class
  ref::gaussian_yolo_activate(data.data(), Shape{10, 1, 1}, spec);
  const float s = static_cast<float>(sigmoid(1));
  CHECK(data == std::vector<float>{s, s, s, s, 1, s, 1, s, s, s});
}

TEST_CASE("region activation: logistic x, y, objectness; softmax over classes") {
  RegionSpec spec;
  spec.classes = 3;
  spec.num = 1;
  spec.softmax = true;
  std::vector<float> data = {0, 0, 5, 6, 0, 1, 2, 3};
  ref::region_activate(data.data(), Shape{8, 1, 1}, spec);
  CHECK(data[0] == doctest::Approx(0.5));
  CHECK(data[2] == 5.f);
  CHECK(data[4] == doctest::Approx(0.5));
  const double sum = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(data[7] == doctest::Approx(std::exp(3.0) / sum));
  CHECK(data[5] + data[6] + data[7] == doctest::Approx(1));
}

TEST_CASE("softmax, scale_channels, sam and batchnorm") {
  const std::vector<float> in = {1, 2, 3, 4};
  std::vector<float> out(4);
  ref::softmax(in.data(), 4, 2, 1.0f, out.data());
  CHECK(out[0] == doctest::Approx(1 / (1 + std::exp(1.0))));
  CHECK(out[2] + out[3] == doctest::Approx(1));
  ref::softmax(in.data(), 4, 1, 2.0f, out.data());
  CHECK(out[3] / out[2] == doctest::Approx(std::exp(0.5)));

  const std::vector<float> from = {1, 2, 3, 4};  // 2 channels of 1x2
  const std::vector<float> per_channel = {10, 100};
  ref::scale_channels(per_channel.data(), from.data(), Shape{2, 1, 2}, false, out.data());
  CHECK(out == std::vector<float>{10, 20, 300, 400});
  const std::vector<float> per_pixel = {2, 3};
  ref::scale_channels(per_pixel.data(), from.data(), Shape{2, 1, 2}, true, out.data());
  CHECK(out == std::vector<float>{2, 6, 6, 12});
  ref::multiply(in.data(), from.data(), 4, out.data());
  CHECK(out == std::vector<float>{1, 4, 9, 16});
  const std::vector<float> scales = {2, -1};
  const std::vector<float> shifts = {1, 0};
  ref::channel_affine(from.data(), Shape{2, 1, 2}, scales.data(), shifts.data(), out.data());
  CHECK(out == std::vector<float>{3, 5, -3, -4});
}

TEST_CASE("folding BatchNorm into a convolution gives conv-then-normalise") {
  std::mt19937 engine(5);
  const Graph graph = build_graph(parse_cfg(
      "[net]\nwidth=9\nheight=7\nchannels=4\n[convolutional]\nfilters=6\nsize=3\npad=1\ngroups=2\n"
      "batch_normalize=1\nactivation=linear\n",
      "f.cfg"));
  const Layer& layer = graph.layers[0];
  Weights weights = random_weights(graph, 9);
  LayerParams& p = weights.layers[0];
  const FoldedLayer folded = fold_layer(layer, p, "f.cfg");
  const auto in = random_vector(static_cast<std::size_t>(layer.in.size()), engine);

  const std::vector<float> zero(6, 0.f);
  const std::vector<float> raw = textbook_conv(in, layer.in, p.weights, zero, layer.as<ConvSpec>(), layer.out);
  std::vector<float> expected(raw.size());
  const std::size_t plane = static_cast<std::size_t>(layer.out.h * layer.out.w);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::size_t f = i / plane;
    expected[i] = static_cast<float>((raw[i] - p.mean[f]) / std::sqrt(double{p.variance[f]} + 1e-5) * p.scales[f] +
                                     p.biases[f]);
  }
  std::vector<float> out(raw.size());
  ref::conv2d(in.data(), layer.in, folded.weights.data(), folded.biases.data(), layer.as<ConvSpec>(), out.data(),
              layer.out, 1);
  const test::Difference d = test::compare(out, expected);
  INFO(test::describe(d));
  CHECK(d.max_abs <= 1e-5);
}

TEST_CASE("a negative BatchNorm variance is a corrupt file, named") {
  const Graph graph = build_graph(parse_cfg(
      "[net]\nwidth=2\nheight=2\nchannels=1\n[convolutional]\nfilters=2\nbatch_normalize=1\n", "v.cfg"));
  Weights weights = random_weights(graph, 1);
  weights.layers[0].variance[1] = -0.5f;
  const std::string expected = "v.cfg: layer 0 [convolutional] has BatchNorm variance -0.5 at channel 1; "
                               "variances must be >= 0, so the weights file is corrupt";
  try {
    Network network(graph, weights);
    FAIL("expected an error");
  } catch (const Error& error) {
    CHECK(std::string(error.what()) == expected);
  }
  // Network::load, which reads the kernel from the file later, refuses the file the same way.
  const test::TempDir dir;
  const std::string path = dir.file("v.weights");
  write_weights(path, graph, weights);
  for (const Backend backend : {Backend::Auto, Backend::Reference}) {
    try {
      Network::load(graph, path, NetworkOptions{0, 0, 1, backend});
      FAIL("expected an error");
    } catch (const Error& error) {
      CHECK(std::string(error.what()) == expected);
    }
  }
}
