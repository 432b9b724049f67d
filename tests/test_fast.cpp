// The fast path (oneDNN) against the reference kernels: single layers over
// many shapes (odd sizes, block edges, groups, depthwise, strides, dilation,
// every activation) and whole public networks. Agreement within 1e-4 of each
// tensor's largest magnitude.
#include <doctest/doctest.h>

#include <array>
#include <random>
#include <sstream>
#include <thread>

#include "dusk/dusk.hpp"
#include "engine/dnnl/fast_plan.hpp"
#include "engine/fold.hpp"
#include "support/compare.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

Tensor random_input(const Shape& shape, unsigned seed) {
  Tensor input(shape);
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> unit(-1.f, 1.f);
  for (float& v : input.data) v = unit(engine);
  return input;
}

// A Winograd memory share no network reaches: every convolution oneDNN has
// a Winograd kernel for gets it.
constexpr double kWinogradEverywhere = 1e9;
// No Winograd: every convolution on oneDNN's direct kernels, shortcuts fused.
constexpr double kDirectOnly = 0;

NetworkOptions fast_options(int threads, double winograd_share) {
  NetworkOptions options{0, 0, threads, Backend::Fast};
  options.winograd_memory_share = winograd_share;
  return options;
}

// Runs every layer on both backends and compares each layer's output.
void check_all_layers(const Graph& graph, const std::string& what, unsigned seed = 1,
                      double winograd_share = kDirectOnly) {
  if (!fast_backend_compiled()) return;  // built without oneDNN: nothing to compare
  const Weights weights = random_weights(graph, seed);
  const Network fast(graph, weights, fast_options(2, winograd_share));
  const Network reference(graph, weights, NetworkOptions{0, 0, 2, Backend::Reference});
  std::vector<int> all;
  for (const Layer& layer : graph.layers) all.push_back(layer.index);
  const Tensor input = random_input(graph.input, seed);
  const std::vector<Tensor> a = fast.forward(input, all);
  const std::vector<Tensor> b = reference.forward(input, all);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const test::Difference d = test::compare(a[i].data, b[i].data);
    INFO(what << " (Winograd share " << winograd_share << "): " << graph.describe(all[i]) << " " << to_string(b[i].shape) << ": " << test::describe(d));
    CHECK(d.max_abs <= 1e-4 * std::max(d.max_magnitude, 1e-3));
  }
}

Graph graph_from(const std::string& text) { return build_graph(parse_cfg(text, "fast.cfg")); }

std::string net(int c, int h, int w) {
  std::ostringstream text;
  text << "[net]\nwidth=" << w << "\nheight=" << h << "\nchannels=" << c << "\n";
  return text.str();
}

}  // namespace

TEST_CASE("the fast path is there exactly when dusk was built with oneDNN") {
  CHECK(fast_backend_compiled() == (DUSK_HAVE_DNNL != 0));
  const Graph graph = build_graph(parse_cfg(net(3, 8, 8) + "[convolutional]\nfilters=4\n", "b.cfg"));
  const Network automatic(graph, random_weights(graph, 1));
  CHECK(automatic.backend() == (fast_backend_compiled() ? Backend::Fast : Backend::Reference));
  const Network reference(graph, random_weights(graph, 1), NetworkOptions{0, 0, 0, Backend::Reference});
  CHECK(reference.backend() == Backend::Reference);
}

TEST_CASE("DUSK_BACKEND changes the default backend only, never an explicit choice") {
  const Graph graph = build_graph(parse_cfg(net(3, 8, 8) + "[convolutional]\nfilters=4\n", "b.cfg"));
  const Weights weights = random_weights(graph, 1);
  REQUIRE(setenv("DUSK_BACKEND", "ref", 1) == 0);
  CHECK(Network(graph, weights).backend() == Backend::Reference);
  if (fast_backend_compiled()) {
    NetworkOptions fast;
    fast.backend = Backend::Fast;
    CHECK(Network(graph, weights, fast).backend() == Backend::Fast);
  }
  REQUIRE(setenv("DUSK_BACKEND", "quick", 1) == 0);
  CHECK_THROWS_WITH_AS(Network(graph, weights), "DUSK_BACKEND=quick is not a backend; use auto, fast or ref, or unset it",
                       Error);
  NetworkOptions reference;
  reference.backend = Backend::Reference;
  CHECK(Network(graph, weights, reference).backend() == Backend::Reference);  // not asked: not read
  REQUIRE(unsetenv("DUSK_BACKEND") == 0);
  CHECK(parse_backend("ref") == Backend::Reference);
  CHECK(parse_backend(backend_name(Backend::Fast)) == Backend::Fast);
  CHECK(!parse_backend("gpu"));
}

TEST_CASE("convolutions: shapes, groups, strides, dilations, every activation") {
  struct Case {
    int c, h, w, filters, size, stride_x, stride_y, pad, groups, dilation, bn;
    const char* activation;
  };
  const Case cases[] = {
      {3, 17, 19, 16, 3, 1, 1, 1, 1, 1, 1, "leaky"},   {16, 16, 16, 32, 3, 2, 2, 1, 1, 1, 1, "mish"},
      {17, 13, 11, 33, 3, 1, 1, 1, 1, 1, 0, "swish"},  {32, 9, 9, 32, 3, 1, 1, 1, 32, 1, 1, "leaky"},
      {24, 15, 15, 24, 3, 2, 2, 1, 24, 1, 1, "relu"},   {8, 12, 12, 16, 3, 1, 1, 1, 2, 1, 1, "logistic"},
      {64, 8, 8, 255, 1, 1, 1, 0, 1, 1, 0, "linear"},   {7, 10, 10, 15, 5, 1, 1, 2, 1, 1, 1, "tanh"},
      {16, 14, 14, 16, 3, 1, 1, 1, 1, 2, 1, "leaky"},   {12, 11, 13, 12, 3, 2, 1, 1, 4, 1, 1, "elu"},
      {16, 20, 20, 8, 1, 2, 2, 0, 1, 1, 1, "relu6"},    {4, 6, 6, 4, 3, 1, 1, 1, 1, 1, 1, "gelu"},
      {5, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "hardtan"},     {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "hard_mish"},
      {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "selu"},        {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "plse"},
      {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "lhtan"},       {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "loggy"},
      {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "relie"},       {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "ramp"},
      {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "revleaky"},    {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "normalize_channels"},
      {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "normalize_channels_softmax"},
      {6, 9, 9, 6, 3, 1, 1, 1, 1, 1, 1, "normalize_channels_softmax_maxval"},
      {3, 31, 29, 48, 7, 2, 2, 3, 1, 1, 1, "leaky"},    {40, 6, 6, 40, 5, 1, 1, 2, 40, 1, 1, "leaky"},
  };
  for (const Case& c : cases) {
    std::ostringstream text;
    text << net(c.c, c.h, c.w) << "[convolutional]\nfilters=" << c.filters << "\nsize=" << c.size
         << "\nstride_x=" << c.stride_x << "\nstride_y=" << c.stride_y << "\npadding=" << c.pad
         << "\ngroups=" << c.groups << "\ndilation=" << c.dilation << "\nbatch_normalize=" << c.bn
         << "\nactivation=" << c.activation << "\n";
    check_all_layers(graph_from(text.str()), text.str());
    check_all_layers(graph_from(text.str()), text.str(), 1, kWinogradEverywhere);
  }
}

TEST_CASE("convolutions on seeded random shapes") {
  std::mt19937 engine(2026);
  const auto pick = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(engine); };
  for (int round = 0; round < 40; ++round) {
    const int size = std::array<int, 3>{1, 3, 5}[static_cast<std::size_t>(pick(0, 2))];
    const int dilation = size > 1 && pick(0, 3) == 0 ? 2 : 1;
    const int span = dilation * (size - 1) + 1;
    const int groups = std::array<int, 4>{1, 1, 2, 4}[static_cast<std::size_t>(pick(0, 3))];
    const int channels = groups * pick(1, 20);
    const int filters = pick(0, 3) == 0 ? channels : groups * pick(1, 20);  // sometimes depthwise-like
    const int depthwise = filters == channels && pick(0, 1) == 1 ? channels : groups;
    const Activation activation = static_cast<Activation>(pick(0, static_cast<int>(Activation::Count) - 1));
    std::ostringstream text;
    text << net(channels, pick(span, span + 17), pick(span, span + 17)) << "[convolutional]\nfilters=" << filters
         << "\nsize=" << size << "\nstride_x=" << pick(1, 2) << "\nstride_y=" << pick(1, 2) << "\npad="
         << (dilation > 1 ? 1 : pick(0, 1)) << "\ngroups=" << depthwise << "\ndilation=" << dilation
         << "\nbatch_normalize=" << pick(0, 1) << "\nactivation=" << activation_name(activation) << "\n";
    check_all_layers(graph_from(text.str()), text.str(), static_cast<unsigned>(round));
    check_all_layers(graph_from(text.str()), text.str(), static_cast<unsigned>(round), kWinogradEverywhere);
  }
}

TEST_CASE("convolution followed by a shortcut (fused) and by other readers (not fused)") {
  const std::string body =
      "[convolutional]\nfilters=32\nsize=3\npad=1\nbatch_normalize=1\nactivation=mish\n"
      "[convolutional]\nfilters=16\nsize=1\nbatch_normalize=1\nactivation=mish\n"
      "[convolutional]\nfilters=32\nsize=3\npad=1\nbatch_normalize=1\nactivation=mish\n"
      "[shortcut]\nfrom=-3\nactivation=linear\n"
      "[convolutional]\nfilters=32\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
      "[shortcut]\nfrom=-2\nactivation=leaky\n"
      "[convolutional]\nfilters=32\nsize=1\nbatch_normalize=1\nactivation=swish\n"
      "[shortcut]\nfrom=-2\nactivation=logistic\n"
      "[route]\nlayers=-1,-3\n"  // reads the shortcut and a conv that also feeds a shortcut
      "[convolutional]\nfilters=24\nsize=1\nactivation=linear\n"
      "[shortcut]\nfrom=-9\nactivation=linear\n";  // 24 channels + 32: Darknet adds the shared ones
  check_all_layers(graph_from(net(8, 13, 15) + body), "shortcut chain");
  check_all_layers(graph_from(net(8, 13, 15) + body), "shortcut chain", 1, kWinogradEverywhere);
}

TEST_CASE("pooling, upsampling, routes and channel slices") {
  const std::string body =
      "[convolutional]\nfilters=20\nsize=3\npad=1\nactivation=leaky\n"
      "[maxpool]\nsize=2\nstride=1\n"
      "[maxpool]\nsize=3\nstride=2\n"
      "[maxpool]\nsize=5\nstride=1\n"
      "[local_avgpool]\nsize=3\nstride=2\n"
      "[upsample]\nstride=2\n"
      "[route]\nlayers=-1,-4\n"           // 20 + 20 channels, different producers
      "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n"  // offset 20: not on a 16-channel block
      "[convolutional]\nfilters=32\nsize=1\nactivation=relu\n"
      "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n"  // offset 16: on a block
      "[maxpool]\nsize=2\nstride=2\n"
      "[upsample]\nstride=2\nscale=0.5\n"
      "[upsample]\nstride=-2\n"
      "[avgpool]\n";
  check_all_layers(graph_from(net(3, 19, 23) + body), "pooling and routes");
}

TEST_CASE("layers that stay on the reference kernels inside a fast plan") {
  const std::string body =
      "[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=leaky\n"
      "[reorg3d]\nstride=2\n"
      "[convolutional]\nfilters=16\nsize=1\nactivation=linear\n"
      "[maxpool]\nmaxpool_depth=1\nout_channels=8\n"
      "[batchnorm]\n"
      "[activation]\nactivation=mish\n"
      "[convolutional]\nfilters=8\nsize=1\nactivation=logistic\n"
      "[sam]\nfrom=-3\n"
      "[avgpool]\n"
      "[convolutional]\nfilters=8\nsize=1\nactivation=logistic\n"
      "[scale_channels]\nfrom=-4\n"
      "[shortcut]\nfrom=-6\nweights_type=per_channel\nweights_normalization=softmax\n"
      "[connected]\noutput=10\nactivation=linear\n"
      "[softmax]\n";
  check_all_layers(graph_from(net(3, 16, 16) + body), "reference layers");
  check_all_layers(graph_from(net(3, 16, 16) + body), "reference layers", 1, kWinogradEverywhere);
}

#define WHOLE_NETWORK_CASE(dir, file)                                                  \
  TEST_CASE("fast equals reference on " file) {                                      \
    const Graph graph = load_graph(test::shared(dir "/" file), GraphOptions{128, 128});      \
    check_all_layers(graph, file);                                                     \
    check_all_layers(graph, file, 1, kDefaultWinogradMemoryShare);                     \
  }

WHOLE_NETWORK_CASE("models", "yolo-fastest-1.1.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov2-tiny.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov2.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov3-tiny.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov3-tiny-prn.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov3.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov3-spp.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov4-tiny.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov4.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov4-csp.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov4x-mish.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov7-tiny.cfg")
WHOLE_NETWORK_CASE("cfg", "yolov7.cfg")
WHOLE_NETWORK_CASE("cfg", "enet-coco.cfg")

// One convolution for which, on AVX-512, oneDNN picks F(2x2,3x3) on two
// threads and F(4x4,3x3) on one; neither transformed layout converts into the
// other. Its reference output, and its folded kernel, for the plans to use.
struct WinogradLayerCase {
  Graph graph = graph_from(net(64, 104, 104) +
                           "[convolutional]\nfilters=64\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n");
  Weights weights = random_weights(graph, 5);
  FoldedLayer folded = fold_layer(graph.layers[0], weights.layers[0], graph.source);
  Tensor input = random_input(graph.input, 5);
  Tensor expected = Network(graph, weights, NetworkOptions{0, 0, 1, Backend::Reference}).forward(input, {0}).front();

  void check(const FastPlan& plan) const {
    const test::Difference d = test::compare(plan.run(input).front().data, expected.data);
    INFO(test::describe(d));
    CHECK(d.max_abs <= 1e-4 * d.max_magnitude);
  }
};

TEST_CASE("a Winograd kernel stored by a plan for one thread count serves plans for another") {
  if (!fast_backend_compiled()) return;
  WinogradLayerCase layer;
  const std::size_t floats = layer.folded.weights.size();
  KernelStore store({layer.folded}, {floats});
  FastWeights stored;
  stored.configure(2, kWinogradEverywhere, store);
  for (const int threads : {2, 1, 2}) {
    INFO(threads << " threads");
    layer.check(*FastPlan::build(layer.graph, store, {0}, threads, Precision::Fp32, nullptr, stored));
  }
}

TEST_CASE("a Winograd kernel read from the file during load is kept for plans on fewer threads") {
  if (!fast_backend_compiled()) return;
  WinogradLayerCase layer;
  const std::vector<float> kernel = std::move(layer.folded.weights);
  layer.folded.weights.clear();  // as Network::load leaves it: the kernel is still in the file
  KernelStore store({layer.folded}, {kernel.size()});
  FastWeights stored;
  stored.configure(2, kWinogradEverywhere, store);
  store.set_kernel_source([&](int, float* out) { std::copy(kernel.begin(), kernel.end(), out); }, kernel.size());
  const std::unique_ptr<FastPlan> at_load = FastPlan::build(layer.graph, store, {0}, 2, Precision::Fp32, nullptr, stored);
  store.set_kernel_source(nullptr, 0);
  layer.check(*at_load);
  layer.check(*FastPlan::build(layer.graph, store, {0}, 1, Precision::Fp32, nullptr, stored));
}

TEST_CASE("Network::load, kernels read from the file as plans need them, equals a network built from read_weights") {
  // A head, then layers no head needs (they get their kernels after the
  // load-time plan), on every backend, thread count and Winograd setting.
  const std::string cfg_text = net(3, 40, 40) +
                               "[convolutional]\nfilters=32\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                               "[convolutional]\nfilters=32\nsize=3\npad=1\nbatch_normalize=1\nactivation=mish\n"
                               "[convolutional]\nfilters=18\nsize=1\nactivation=linear\n"
                               "[yolo]\nmask=0,1,2\nanchors=4,5,8,9,12,13\nclasses=1\nnum=3\n"
                               "[route]\nlayers=-3\n"
                               "[convolutional]\nfilters=24\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n";
  const test::TempDir dir;
  const std::string cfg = dir.write("n.cfg", cfg_text);
  const Graph graph = load_graph(cfg);
  const std::string weights_path = dir.file("n.weights");
  write_weights(weights_path, graph, random_weights(graph, 9));
  const Tensor input = random_input(graph.input, 9);
  std::vector<int> all;
  for (const Layer& layer : graph.layers) all.push_back(layer.index);
  for (const Backend backend : {Backend::Fast, Backend::Reference}) {
    if (backend == Backend::Fast && !fast_backend_compiled()) continue;
    for (const int threads : {1, 2}) {
      for (const double share : {kDirectOnly, kWinogradEverywhere}) {
        NetworkOptions options{0, 0, threads, backend};
        options.winograd_memory_share = share;
        const Network loaded = Network::load(cfg, weights_path, options);
        const Network built(graph, read_weights(weights_path, graph), options);
        const std::vector<Tensor> a = loaded.forward(input, all);
        const std::vector<Tensor> b = built.forward(input, all);
        for (std::size_t i = 0; i < all.size(); ++i) {
          INFO((backend == Backend::Fast ? "fast" : "reference") << ", " << threads << " threads, share " << share
                                                                 << ": " << graph.describe(all[i]));
          CHECK(a[i].data == b[i].data);  // the same folded kernels, the same primitives: the same bits
        }
      }
    }
  }
}

TEST_CASE("concurrent forwards on one fast Network equal sequential ones") {
  if (!fast_backend_compiled()) return;
  const Graph graph = load_graph(test::shared("cfg/yolov4-tiny.cfg"), GraphOptions{160, 160});
  // Winograd everywhere: plans for fewer threads may want other transformed
  // layouts than the first plan stored.
  const Network network(graph, random_weights(graph, 3), fast_options(2, kWinogradEverywhere));
  std::vector<Tensor> inputs;
  std::vector<std::vector<Tensor>> expected;
  for (unsigned i = 0; i < 3; ++i) {
    inputs.push_back(random_input(graph.input, i));
    expected.push_back(network.forward(inputs.back()));
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 6; ++round) {
        const std::size_t which = static_cast<std::size_t>(t + round) % inputs.size();
        const std::vector<Tensor> out = network.forward(inputs[which]);
        for (std::size_t h = 0; h < out.size(); ++h) {
          // Plans for fewer threads may sum in another order: equal to rounding.
          if (test::compare(out[h].data, expected[which][h].data).max_abs > 1e-4) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const int m : mismatches) CHECK(m == 0);
}
