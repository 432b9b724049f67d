// Hostile inputs: every limit and error path gives one clear line, and a
// large set of broken cfgs, weights and images run through `dusk inspect`
// and `dusk detect` always ends by itself with a message, never by a signal.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <filesystem>
#include <random>
#include <sstream>

#include "dusk/dusk.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace dusk;

namespace {

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

std::string error_of_cfg(const std::string& text) {
  return error_of([&] { build_graph(parse_cfg(text, "h.cfg")); });
}

// A BMP header that claims `width` x `height` 24-bit pixels, with no pixels.
std::vector<unsigned char> bmp_header(std::int32_t width, std::int32_t height) {
  std::vector<unsigned char> bytes(54, 0);
  bytes[0] = 'B';
  bytes[1] = 'M';
  const auto put32 = [&](std::size_t at, std::int32_t value) { std::memcpy(&bytes[at], &value, 4); };
  put32(2, 54);
  put32(10, 54);
  put32(14, 40);
  put32(18, width);
  put32(22, height);
  bytes[26] = 1;
  bytes[28] = 24;
  return bytes;
}

const std::string kTinyCfg =
    "[net]\nwidth=32\nheight=32\nchannels=3\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=8\nsize=1\nactivation=mish\n"
    "[route]\nlayers=-1,-2\n"
    "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n"
    "[yolo]\nmask=0,1\nanchors=4,5,9,8\nclasses=2\nnum=2\n";

}  // namespace

TEST_CASE("graph limits name the limit and how to raise it") {
  std::string deep = "[net]\nwidth=8\nheight=8\nchannels=1\n";
  for (int i = 0; i <= kMaxLayers; ++i) deep += "[empty]\n";
  CHECK(error_of_cfg(deep) == "h.cfg: has 4097 layers, more than dusk's limit of 4096 (dusk::kMaxLayers); a genuine "
                              "cfg this deep needs a rebuild with a larger limit");
  CHECK(error_of_cfg("[net]\nwidth=20000\nheight=8\n[empty]\n") ==
        "h.cfg:2: [net] width=20000 is larger than dusk's limit of 16384 (dusk::kMaxInputSide); give a smaller input "
        "size (GraphOptions::width and height)");
  CHECK(error_of_cfg("[net]\nwidth=8\nheight=8\n[convolutional]\nfilters=70000\n") ==
        "h.cfg:5: [convolutional] filters=70000 is invalid; expected an integer from 1 to 65536");
  CHECK(error_of_cfg("[net]\nwidth=8\nheight=8\n[convolutional]\nsize=65\n") ==
        "h.cfg:5: [convolutional] size=65 is invalid; expected an integer from 1 to 64");
  CHECK(error_of_cfg("[net]\nwidth=8\nheight=8\n[convolutional]\nfilters=99999999999999999999\n") ==
        "h.cfg:5: [convolutional] filters=99999999999999999999 is invalid; expected an integer");
  CHECK(error_of([] { load_graph(test::shared("cfg/yolov4.cfg"), GraphOptions{20000, 416}); }) ==
        "input size 20000x416 is out of range; use 1..16384 for each side (dusk::kMaxInputSide)");
}

TEST_CASE("activation memory is checked before anything is allocated, with an option to raise it") {
  const Graph graph = load_graph(test::shared("cfg/yolov4-tiny.cfg"), GraphOptions{4096, 4096});
  NetworkOptions options;
  options.max_activation_bytes = std::int64_t{256} << 20;
  const std::string message = error_of([&] { Network(graph, random_weights(graph, 1), options); });
  CHECK(message.find("at 4096x4096 the layer outputs need ") != std::string::npos);
  CHECK(message.find("MiB, more than the limit of 256 MiB; use a smaller input size, or raise the limit "
                     "(NetworkOptions::max_activation_bytes)") != std::string::npos);
  const Graph small = load_graph(test::shared("cfg/yolov4-tiny.cfg"), GraphOptions{64, 64});
  CHECK(small.peak_activation_bytes() < (std::int64_t{8} << 20));
  CHECK(small.peak_activation_bytes() > small.layers[0].out.size() * 4);
}

TEST_CASE("a Detector built from paths takes every network option") {
  DetectorOptions options;
  options.network.max_activation_bytes = std::int64_t{1} << 20;
  const std::string cfg = test::shared("models/yolo-fastest-1.1.cfg");
  const std::string weights = test::shared("models/yolo-fastest-1.1.weights");
  CHECK(error_of([&] { Detector(cfg, weights, options); }).find("more than the limit of 1 MiB") != std::string::npos);
  options.network = NetworkOptions{};
  options.network.width = 160;
  options.network.height = 96;
  options.network.winograd_memory_share = 0;
  options.network.threads = 1;
  const Detector detector(cfg, weights, options);
  CHECK(detector.network().input_shape() == Shape{3, 96, 160});
  CHECK(detector.network().threads() == 1);
}

TEST_CASE("image size is checked from the header, before decoding") {
  const std::vector<unsigned char> huge = bmp_header(100000, 100000);
  CHECK(error_of([&] { decode_image(huge, "bomb.bmp"); }) ==
        "bomb.bmp: image is 100000x100000 = 10000000000 pixels, more than the limit of 67108864; raise the limit "
        "(DetectorOptions::max_image_pixels) if the image is genuine");
  CHECK(error_of([&] { decode_image(bmp_header(64, 64), "small.bmp", 1000); }).find("more than the limit of 1000") !=
        std::string::npos);
  CHECK(error_of([&] { decode_image({}, "empty.png"); }).find("empty.png: not a readable image") == 0);
}

TEST_CASE("random weights and weights files have bounds too") {
  const Graph huge = build_graph(parse_cfg(
      "[net]\nwidth=8\nheight=8\nchannels=65536\n[convolutional]\nfilters=65536\nsize=3\npad=1\n", "big.cfg"));
  CHECK(error_of([&] { random_weights(huge, 1); })
            .find("big.cfg has 38654771200 parameters, more than the 1073741824 that random weights are made for "
                  "(dusk::kMaxRandomWeightFloats); give a weights file") == 0);
  test::TempDir dir;
  const std::string cfg = dir.write("huge.cfg", std::string(kMaxCfgBytes + 1, '#'));
  CHECK(error_of([&] { load_cfg(cfg); }).find("is 16777217 bytes, more than the limit of 16777216 bytes") !=
        std::string::npos);
}

TEST_CASE("broken cfgs, weights and images never crash dusk inspect or dusk detect") {
  test::TempDir dir;
  const Graph tiny = build_graph(parse_cfg(kTinyCfg, "tiny.cfg"));
  const std::vector<char> good_weights = serialize_weights(tiny, random_weights(tiny, 1));
  const std::string good_cfg = dir.write("good.cfg", kTinyCfg);
  const std::string good_weights_path = dir.write_bytes("good.weights", good_weights);
  const std::string good_image = test::darknet_data("dog.jpg");

  std::vector<std::string> cfgs;
  const auto add_cfg = [&](const std::string& text) {
    cfgs.push_back(dir.write("c" + std::to_string(cfgs.size()) + ".cfg", text));
  };
  for (std::size_t cut : {1u, 10u, 40u, 80u, 120u, 160u, 200u}) add_cfg(kTinyCfg.substr(0, cut));  // truncated
  add_cfg("");
  add_cfg(std::string(1 << 20, 'a'));                                             // one enormous line
  add_cfg("[net]\nwidth=32\nheight=32\n[route]\nlayers=5\n");                     // forward reference
  add_cfg("[net]\nwidth=32\nheight=32\n[convolutional]\n[route]\nlayers=1\n");    // self reference
  add_cfg("[net]\nwidth=-5\nheight=1e9\n[convolutional]\n");
  add_cfg("[net]\nwidth=32\nheight=32\n[yolo]\nanchors=nan,inf\nnum=1\n");
  add_cfg("[net]\nwidth=32\nheight=32\n[upsample]\nstride=1024\n[upsample]\nstride=1024\n");
  add_cfg("[net]\nwidth=16384\nheight=16384\nchannels=65536\n[convolutional]\nfilters=65536\nsize=64\n");
  add_cfg("[net]\nwidth=32\nheight=32\n[shortcut]\nfrom=0\n[reorg]\nstride=64\n");
  add_cfg(std::string("[net]\nwidth=32\0\nheight=32\n", 24));
  std::mt19937 engine(9);
  for (int i = 0; i < 4; ++i) {
    std::string garbage(300, '\0');
    for (char& c : garbage) c = static_cast<char>(engine() % 256);
    add_cfg(i % 2 == 0 ? garbage : "[net]\nwidth=32\nheight=32\n" + garbage);
  }

  std::vector<std::string> weights;
  const auto add_weights = [&](const std::vector<char>& bytes) {
    weights.push_back(dir.write_bytes("w" + std::to_string(weights.size()) + ".weights", bytes));
  };
  for (std::size_t cut : {0u, 3u, 12u, 19u, 20u, 100u, 1000u}) {
    add_weights(std::vector<char>(good_weights.begin(), good_weights.begin() + std::min(cut, good_weights.size())));
  }
  std::vector<char> broken = good_weights;
  std::memset(broken.data(), 0xff, 12);  // version -1.-1.-1
  add_weights(broken);
  broken = good_weights;
  for (std::size_t i = 20; i < broken.size(); i += 4) std::memcpy(&broken[i], "\x00\x00\xc0\x7f", 4);  // NaN
  add_weights(broken);
  broken = good_weights;
  for (std::size_t i = 20; i < broken.size(); i += 4) std::memcpy(&broken[i], "\x00\x00\x80\xff", 4);  // -inf
  add_weights(broken);
  broken = good_weights;
  broken.resize(broken.size() + 1 + (1 << 20), 'x');
  add_weights(broken);

  std::vector<std::string> images;
  const auto add_image = [&](const std::vector<char>& bytes, const std::string& ext) {
    images.push_back(dir.write_bytes("i" + std::to_string(images.size()) + ext, bytes));
  };
  const std::vector<char> jpeg = test::read_bytes(good_image);
  for (std::size_t cut : {0u, 2u, 100u, 1000u, 20000u}) {
    add_image(std::vector<char>(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(cut)), ".jpg");
  }
  std::vector<char> flipped = jpeg;
  for (std::size_t i = 500; i < flipped.size(); i += 97) flipped[i] = static_cast<char>(~flipped[i]);
  add_image(flipped, ".jpg");
  const auto header = bmp_header(100000, 100000);
  add_image(std::vector<char>(header.begin(), header.end()), ".bmp");
  const auto negative = bmp_header(64, -64);
  add_image(std::vector<char>(negative.begin(), negative.end()), ".bmp");
  add_image({'P', '6', '\n', '9', '9', '9', '9', '9', ' ', '9', '9', '9', '9', '9', '\n', '2', '5', '5', '\n'}, ".ppm");
  add_image({'G', 'I', 'F', '8', '9', 'a', '\xff', '\xff', '\xff', '\xff', 0, 0, 0}, ".gif");
  // A real decompression bomb within the pixel limit: a small file, 25 Mpx.
  const std::vector<unsigned char> bomb = encode_image(Image(5000, 5000, 3, 0.f), ImageFormat::Png);
  add_image(std::vector<char>(bomb.begin(), bomb.end()), ".png");

  const auto ends_cleanly = [](const test::CommandResult& result, const std::string& what) {
    INFO(what << "\nexit " << result.exit_code << "\nstderr: " << result.err);
    CHECK(result.exit_code >= 0);
    CHECK(result.exit_code <= 2);  // never a signal (128+n) or a timeout (124)
    std::istringstream lines(result.err);
    for (std::string line; std::getline(lines, line);) {
      CHECK((line.rfind("dusk: error: ", 0) == 0 || line.rfind("dusk: warning: ", 0) == 0 ||
             line.rfind("dusk: ", 0) == 0));
    }
    CHECK(result.err.find("terminate") == std::string::npos);
    CHECK(result.err.find("what()") == std::string::npos);
  };
  const std::string dusk = "timeout 120 " + test::kDuskBinary;
  for (const std::string& cfg : cfgs) {
    ends_cleanly(test::run_command(dusk + " inspect " + cfg), "inspect " + cfg);
    ends_cleanly(test::run_command(dusk + " detect " + cfg + " " + good_weights_path + " " + good_image), "detect " + cfg);
  }
  for (const std::string& w : weights) {
    ends_cleanly(test::run_command(dusk + " inspect " + good_cfg + " " + w), "inspect " + w);
    ends_cleanly(test::run_command(dusk + " detect " + good_cfg + " " + w + " " + good_image + " --out-dir " +
                                   dir.file("out")),
                 "detect " + w);
  }
  std::string all_images;
  for (const std::string& image : images) all_images += " " + image;
  const auto batch = test::run_command(dusk + " detect " + good_cfg + " " + good_weights_path + all_images +
                                       " --out-dir " + dir.file("out") + " --json " + dir.file("out.json"));
  ends_cleanly(batch, "detect on broken images");
  CHECK(batch.exit_code == 1);
  CHECK(batch.err.find("dusk: " + std::to_string(images.size()) + " images") != std::string::npos);
}
