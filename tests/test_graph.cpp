// Graph building: shapes, Darknet's cost figures, and a clear error for every
// way a cfg can be wrong.
#include <doctest/doctest.h>

#include "dusk/dusk.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

Graph graph_of(const std::string& text, GraphOptions options = {}) { return build_graph(parse_cfg(text, "t.cfg"), options); }

std::string error_of(const std::string& text, GraphOptions options = {}) {
  try {
    graph_of(text, options);
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

const std::string kNet = "[net]\nwidth=32\nheight=32\nchannels=3\n";  // lines 1-4

}  // namespace

TEST_CASE("public cfgs: weights sizes and BFLOPs equal Darknet's figures") {
  struct Expected {
    const char* cfg;
    int side;
    double bflops;
    std::uint64_t bytes;
  };
  const Expected cases[] = {
      {"cfg/yolov3-tiny.cfg", 416, 5.571, 35434956},
      {"cfg/yolov4-tiny.cfg", 416, 6.910, 24251276},
      {"cfg/yolov3.cfg", 416, 65.879, 248007048},
      {"cfg/yolov4.cfg", 608, 128.459, 257717640},
      {"models/yolo-fastest-1.1.cfg", 320, 0.252, 1384268},
  };
  for (const Expected& c : cases) {
    const Graph graph = load_graph(test::shared(c.cfg), GraphOptions{c.side, c.side});
    INFO(c.cfg);
    CHECK(graph.total_bflops() == doctest::Approx(c.bflops).epsilon(0.0005));
    CHECK(expected_file_bytes(graph) == c.bytes);
    CHECK(graph.warnings.empty());
  }
}

TEST_CASE("yolov3-tiny shapes and resolved inputs") {
  const Graph graph = load_graph(test::shared("cfg/yolov3-tiny.cfg"));
  REQUIRE(graph.layers.size() == 24);
  CHECK(graph.input == Shape{3, 416, 416});
  CHECK(graph.layers[0].out == Shape{16, 416, 416});
  CHECK(graph.layers[11].kind == LayerKind::Maxpool);  // size 2 stride 1 keeps 13x13
  CHECK(graph.layers[11].out == Shape{512, 13, 13});
  CHECK(graph.layers[15].out == Shape{255, 13, 13});
  CHECK(graph.layers[16].kind == LayerKind::Yolo);
  CHECK(graph.layers[17].inputs == std::vector<int>{13});  // layers=-4
  CHECK(graph.layers[20].inputs == std::vector<int>{19, 8});
  CHECK(graph.layers[20].out == Shape{384, 26, 26});
  CHECK(graph.head_layers() == std::vector<int>{16, 23});
  CHECK(graph.stride == 32);

  const YoloSpec& yolo = graph.layers[16].as<YoloSpec>();
  CHECK(yolo.mask == std::vector<int>{3, 4, 5});
  CHECK(yolo.anchors.size() == 12);
  CHECK(yolo.anchors[0] == 10.f);
  CHECK(yolo.classes == 80);
}

TEST_CASE("section aliases and defaults follow Darknet") {
  const Graph graph = graph_of(
      "[network]\nwidth=16\nheight=16\nchannels=3\n"
      "[conv]\nfilters=4\nsize=3\npad=1\n"  // activation defaults to logistic
      "[max]\nsize=2\nstride=2\n"
      "[avg]\n"
      "[conn]\noutput=5\nactivation=linear\n"
      "[soft]\n"
      "[silence]\n");
  REQUIRE(graph.layers.size() == 6);
  CHECK(graph.layers[0].kind == LayerKind::Convolutional);
  CHECK(graph.layers[0].as<ConvSpec>().activation == Activation::Logistic);
  CHECK(graph.layers[0].as<ConvSpec>().pad == 1);
  CHECK(graph.layers[1].kind == LayerKind::Maxpool);
  CHECK(graph.layers[1].as<PoolSpec>().padding == 1);  // size - 1
  CHECK(graph.layers[1].out == Shape{4, 8, 8});
  CHECK(graph.layers[2].out == Shape{4, 1, 1});
  CHECK(graph.layers[3].out == Shape{5, 1, 1});
  CHECK(graph.layers[3].param_count == 5 + 5 * 4);
  CHECK(graph.layers[4].kind == LayerKind::Softmax);
  CHECK(graph.layers[5].kind == LayerKind::Empty);
}

TEST_CASE("--size overrides the cfg's input size, and with_input_size resizes") {
  const Graph graph = load_graph(test::shared("cfg/yolov4-tiny.cfg"), GraphOptions{320, 256});
  CHECK(graph.input == Shape{3, 256, 320});
  CHECK(graph.layers[30].out == Shape{255, 8, 10});
  const Graph resized = with_input_size(graph, 608, 608);
  CHECK(resized.layers[30].out == Shape{255, 19, 19});
  CHECK(resized.total_params() == graph.total_params());
}

TEST_CASE("unknown keys and repeated keys are warnings with file:line; misspelt keys are errors") {
  const Graph graph = graph_of(kNet + "[convolutional]\nfilters=4\nfrobnicate=8\nfilters=6\nlearning_rate=0.1\n");
  REQUIRE(graph.warnings.size() == 2);
  CHECK(graph.warnings[0] == "t.cfg:7: [convolutional] unknown key 'frobnicate' ignored");
  CHECK(graph.warnings[1] == "t.cfg:8: [convolutional] filters is set again (first at line 6); the first value is used");
  CHECK(graph.layers[0].out.c == 4);
  // A key one or two edits from one the section reads would silently keep that key's default.
  CHECK(error_of(kNet + "[convolutional]\nfilters=4\nfliters=8\n") ==
        "t.cfg:7: [convolutional] unknown key 'fliters'; did you mean filters=? (Darknet would ignore it and use the "
        "default filters)");
  CHECK(error_of(kNet + "[convolutional]\nfilters=4\nactivaton=leaky\n").find("did you mean activation=?") !=
        std::string::npos);
  CHECK(error_of("[net]\nwidht=416\nheight=416\n[convolutional]\nfilters=4\n").find(
            "t.cfg:2: [net] unknown key 'widht'; did you mean width=?") == 0);
}

TEST_CASE("bad values name file:line and what was expected") {
  CHECK(error_of(kNet + "[convolutional]\nfilters=abc\n") ==
        "t.cfg:6: [convolutional] filters=abc is invalid; expected an integer");
  CHECK(error_of(kNet + "[convolutional]\nfilters=8\nsize=0\n") ==
        "t.cfg:7: [convolutional] size=0 is invalid; expected an integer from 1 to 64");
  CHECK(error_of(kNet + "[convolutional]\nfilters=8\nactivation=leakyy\n").find(
            "t.cfg:7: [convolutional] activation=leakyy is unknown; expected one of: linear, leaky,") == 0);
  CHECK(error_of(kNet + "[yolo]\nscale_x_y=fast\nanchors=1,2\n") ==
        "t.cfg:6: [yolo] scale_x_y=fast is invalid; expected a number");
  CHECK(error_of(kNet + "[upsample]\nstride=0\n") ==
        "t.cfg:6: layer 0 [upsample] stride=0 is invalid; use a positive stride to upsample or a negative one to downsample");
  CHECK(error_of(kNet + "[shortcut]\nfrom=-1\n") ==
        "t.cfg:6: layer 0 [shortcut] from=-1 cannot work: the first layer has no earlier layers to use");
  CHECK(error_of(kNet + "[convolutional]\nfilters=3\n[shortcut]\nfrom=-1\nweights_type=per_pixel\n") ==
        "t.cfg:9: layer 1 [shortcut] weights_type=per_pixel is unknown; expected none, per_feature, per_layer or "
        "per_channel");
  CHECK(error_of(kNet + "[convolutional]\nfilters=8\nxnor=1\n") ==
        "t.cfg:7: [convolutional] xnor=1 is not supported: XNOR convolutions are not implemented");
}

TEST_CASE("unknown, unsupported and misplaced sections") {
  CHECK(error_of(kNet + "[convolutional]\nfilters=4\n[fancy]\n") ==
        "t.cfg:7: unknown section [fancy]; expected a Darknet layer such as [convolutional], [route] or [yolo]");
  CHECK(error_of(kNet + "[lstm]\noutput=4\n") ==
        "t.cfg:5: layer 0 [lstm] is not supported by dusk (training-era or recurrent layer); remove it or use Darknet");
  CHECK(error_of("[convolutional]\nfilters=4\n") ==
        "t.cfg:1: the first section is [convolutional]; a Darknet cfg must start with [net]");
  CHECK(error_of("[net]\nwidth=8\n") == "t.cfg:1: [net] gives no width= and height=; set them, or give the input size (GraphOptions::width and height)");
  CHECK(error_of(kNet) == "t.cfg: has a [net] section but no layers");
  CHECK(error_of("") == "t.cfg: has no sections; a Darknet cfg starts with [net] and then lists its layers");
}

TEST_CASE("route and shortcut references: out of range, forward, mismatched shapes") {
  const std::string convs = kNet + "[convolutional]\nfilters=4\nsize=1\n" + "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\n";
  // lines: 5-7 conv 0, 8-12 conv 1, 13.. layer 2
  CHECK(error_of(convs + "[route]\nlayers=-3\n") ==
        "t.cfg:14: layer 2 [route] layers=-3 points before the first layer (to -1); use -2..-1 or 0..1");
  CHECK(error_of(convs + "[route]\nlayers=2\n") ==
        "t.cfg:14: layer 2 [route] layers=2 points to layer 2, which is not before this one; a layer can only use "
        "earlier layers (0..1)");
  CHECK(error_of(convs + "[route]\n") == "t.cfg:13: layer 2 [route] needs layers= (the layers it takes input from)");
  CHECK(error_of(convs + "[route]\nlayers=-1,-2\n").find(
            "t.cfg:13: layer 2 [route] concatenates layer 1 [convolutional] (t.cfg:8) (4x16x16) with layer 0 "
            "[convolutional] (t.cfg:5) (4x32x32), whose heights and widths differ") == 0);
  CHECK(error_of(convs + "[route]\nlayers=-1\ngroups=3\n") ==
        "t.cfg:13: layer 2 [route] groups=3 does not divide the 4 channels of layer 1 [convolutional] (t.cfg:8); use "
        "a divisor of 4");
  // Darknet samples a source of another size only for a single unweighted source.
  CHECK(error_of(convs + "[shortcut]\nfrom=-2\nweights_type=per_feature\n") ==
        "t.cfg:13: layer 2 [shortcut] adds layer 0 [convolutional] (t.cfg:5) (4x32x32) to its 4x16x16 input; heights "
        "and widths must match, or (one source, no weights) differ by the same whole factor in both directions, so "
        "check from=");
}

TEST_CASE("shortcut between spatial sizes: Darknet's stride or step, the same in both directions") {
  const std::string convs = kNet + "[convolutional]\nfilters=4\nsize=1\n" + "[convolutional]\nfilters=6\nsize=3\nstride=2\npad=1\n";
  const Graph down = graph_of(convs + "[shortcut]\nfrom=-2\n");  // 4x32x32 into 6x16x16
  CHECK(down.layers[2].out == Shape{6, 16, 16});
  const ShortcutSampling larger = shortcut_sampling(Shape{4, 32, 32}, Shape{6, 16, 16});
  CHECK(larger.valid);
  CHECK(larger.stride == 2);
  CHECK(larger.step == 1);
  CHECK(larger.h == 16);
  const ShortcutSampling smaller = shortcut_sampling(Shape{4, 8, 8}, Shape{6, 32, 32});
  CHECK(smaller.step == 4);
  CHECK(smaller.stride == 1);
  CHECK(smaller.w == 8);
  // 13 into 7: Darknet's integer factor is 1, so it adds the top-left 7x7.
  const ShortcutSampling uneven = shortcut_sampling(Shape{1, 13, 13}, Shape{1, 7, 7});
  CHECK(uneven.valid);
  CHECK(uneven.stride == 1);
  CHECK(uneven.h == 7);
  CHECK(!shortcut_sampling(Shape{1, 32, 16}, Shape{1, 16, 16}).valid);  // 2x across, 1x down: Darknet asserts
  const std::string wide = "[net]\nwidth=32\nheight=16\nchannels=3\n[convolutional]\nfilters=4\nsize=1\n"
                           "[maxpool]\nsize=2\nstride_x=2\nstride_y=1\n[shortcut]\nfrom=-2\n";
  CHECK(error_of(wide).find("differ by the same whole factor in both directions") != std::string::npos);
}

TEST_CASE("[crop] takes its window size, keeps channels and ignores training-only keys") {
  const Graph graph = graph_of(kNet + "[crop]\ncrop_width=24\ncrop_height=20\nflip=1\nangle=7\nsaturation=1.5\n"
                                      "exposure=1.5\nshift=0.2\n");
  CHECK(graph.layers[0].out == Shape{3, 20, 24});
  CHECK(graph.layers[0].as<CropSpec>().scale == 2.0f);
  CHECK(graph.layers[0].as<CropSpec>().shift == -1.0f);
  CHECK(graph.warnings.empty());
  const Graph plain = graph_of(kNet + "[crop]\ncrop_width=8\ncrop_height=8\nnoadjust=1\n");
  CHECK(plain.layers[0].as<CropSpec>().scale == 1.0f);
  CHECK(plain.layers[0].as<CropSpec>().shift == 0.0f);
  CHECK(error_of(kNet + "[crop]\ncrop_width=40\ncrop_height=8\n") ==
        "t.cfg:5: layer 0 [crop] crops 40x8 from its 3x32x32 input; crop_width and crop_height must not exceed the "
        "input's width and height");
}

TEST_CASE("groups that do not divide channels or filters") {
  CHECK(error_of(kNet + "[convolutional]\nfilters=8\ngroups=2\n") ==
        "t.cfg:5: layer 0 [convolutional] groups=2 does not divide its 3 input channels; use a divisor of 3");
  CHECK(error_of(kNet + "[convolutional]\nfilters=6\ngroups=4\n") ==
        "t.cfg:7: layer 0 [convolutional] groups=4 does not divide filters=6; make filters a multiple of groups");
}

TEST_CASE("a head whose input channels do not fit classes and masks names both layers") {
  const std::string cfg = kNet + "[convolutional]\nfilters=255\nsize=1\nactivation=linear\n" +
                          "[yolo]\nmask=0,1,2\nanchors=1,2,3,4,5,6\nclasses=2\nnum=3\n";
  CHECK(error_of(cfg) ==
        "t.cfg:9: layer 1 [yolo] expects 21 = 3 masks x (classes 2 + 5) input channels, but layer 0 [convolutional] "
        "(t.cfg:5) gives 255; set filters=21 in layer 0 [convolutional] (t.cfg:5)");
  CHECK(error_of(kNet + "[convolutional]\nfilters=30\nsize=1\n[region]\nclasses=20\nnum=5\nanchors=1,1,1,1,1,1,1,1,1,1\n") ==
        "t.cfg:8: layer 1 [region] expects 125 = num 5 x (classes 20 + coords 4 + 1) input channels, but layer 0 "
        "[convolutional] (t.cfg:5) gives 30; set filters=125 in layer 0 [convolutional] (t.cfg:5)");
  CHECK(error_of(kNet + "[convolutional]\nfilters=21\nsize=1\n[yolo]\nmask=0,1,2\nanchors=1,2,3,4\nclasses=2\nnum=3\n") ==
        "t.cfg:10: layer 1 [yolo] anchors= has 4 values but num=3 needs 6 (a width and a height each)");
  CHECK(error_of(kNet + "[convolutional]\nfilters=21\nsize=1\n[yolo]\nmask=0,1,5\nanchors=1,2,3,4,5,6\nnum=3\n") ==
        "t.cfg:9: layer 1 [yolo] mask= uses anchor 5 but num=3 and anchors= lists 3 pairs; raise num= and list 6 "
            "anchor pairs");
}

TEST_CASE("input sizes that are not a multiple of the network's stride") {
  const Graph graph = load_graph(test::shared("cfg/yolov3-tiny.cfg"), GraphOptions{416, 416});
  CHECK(graph.stride == 32);
  try {
    load_graph(test::shared("cfg/yolov3-tiny.cfg"), GraphOptions{400, 416});
    FAIL("expected an error");
  } catch (const Error& error) {
    CHECK(std::string(error.what()).find(
              "yolov3-tiny.cfg: input size 400x416 is not a multiple of the network's stride 32; use e.g. 416x416") !=
          std::string::npos);
  }
}

TEST_CASE("limits stop absurd cfgs before anything is allocated") {
  CHECK(error_of("[net]\nwidth=100000\nheight=8\n[convolutional]\n") ==
        "t.cfg:2: [net] width=100000 is larger than dusk's limit of 16384 (dusk::kMaxInputSide); give a smaller "
        "input size (GraphOptions::width and height)");
  CHECK(error_of("[net]\nwidth=16384\nheight=16384\nchannels=3\n[convolutional]\nfilters=65536\nsize=1\n").find(
            "would produce 65536x16384x16384") != std::string::npos);
}

TEST_CASE("cfgs saved by Windows editors: byte-order mark, CRLF, tabs and spaces around =") {
  const std::string text = "\xEF\xBB\xBF[net]\r\nwidth = 32\r\nheight=\t32\r\nchannels = 3\r\n\r\n[convolutional]\r\n"
                           "filters = 4\r\nsize=3\r\nstride=1\r\npad=1\r\nactivation=leaky\r\n";
  const Graph graph = graph_of(text);
  REQUIRE(graph.layers.size() == 1);
  CHECK(graph.input == Shape{3, 32, 32});
  CHECK(graph.layers[0].out == Shape{4, 32, 32});
  CHECK(graph.warnings.empty());
}

TEST_CASE("[yolo] with num= smaller than its mask: the anchors it needs, with one warning") {
  const std::string head = "[convolutional]\nfilters=255\nsize=1\nstride=1\npad=1\nactivation=linear\n"
                           "[yolo]\nclasses=80\nmask=3,4,5\n";
  const Graph graph = graph_of(kNet + head + "num=3\nanchors=10,13, 16,30, 33,23, 30,61, 62,45, 59,119\n");
  const YoloSpec& yolo = graph.layers[1].as<YoloSpec>();
  CHECK(yolo.total == 6);
  CHECK(yolo.anchors.size() == 12);
  CHECK(yolo.anchors[10] == 59.0f);
  REQUIRE(graph.warnings.size() == 1);
  CHECK(graph.warnings[0].find("num=3 is smaller than its mask needs; used num=6") != std::string::npos);
  CHECK(error_of(kNet + head + "num=3\nanchors=10,13, 16,30, 33,23\n").find("mask= uses anchor 5") != std::string::npos);
}
