// The Detector facade: image in, Darknet's detections out.
#include "dusk/detector.hpp"

#include <algorithm>
#include <cmath>

#include "detect/candidates.hpp"
#include "dusk/error.hpp"
#include "dusk/options.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

// The classes and NMS settings Darknet takes from the last head.
const Layer& last_head(const Graph& graph) {
  const std::vector<int> heads = graph.head_layers();
  if (heads.empty()) {
    throw Error(cat(graph.source, " has no [yolo], [Gaussian_yolo] or [region] layer, so it cannot detect objects"));
  }
  return graph.layers[static_cast<std::size_t>(heads.back())];
}

std::string label_for(const std::vector<std::string>& labels, int class_id) {
  if (class_id < static_cast<int>(labels.size())) return labels[static_cast<std::size_t>(class_id)];
  return std::to_string(class_id);
}

// Darknet's report order: boxes by left edge, each with its best class
// first and then any other class above the threshold.
std::vector<Detection> to_detections(std::vector<Candidate>& candidates, const DetectorOptions& options, int image_w,
                                     int image_h) {
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.box.x - a.box.w / 2 < b.box.x - b.box.w / 2;
  });
  // Darknet never shows classes whose name starts with "dont_show".
  const auto shown = [&](std::size_t j) {
    return j >= options.labels.size() || options.labels[j].rfind("dont_show", 0) != 0;
  };
  std::vector<Detection> detections;
  for (const Candidate& c : candidates) {
    int best = -1;
    float best_prob = options.threshold;
    for (std::size_t j = 0; j < c.probs.size(); ++j) {
      if (c.probs[j] > best_prob && shown(j)) {
        best = static_cast<int>(j);
        best_prob = c.probs[j];
      }
    }
    if (best < 0) continue;
    std::vector<int> classes = {best};
    for (std::size_t j = 0; j < c.probs.size(); ++j) {
      if (c.probs[j] > options.threshold && static_cast<int>(j) != best && shown(j)) {
        classes.push_back(static_cast<int>(j));
      }
    }
    for (const int k : classes) {
      Detection d;
      d.class_id = k;
      d.label = label_for(options.labels, k);
      d.confidence = c.probs[static_cast<std::size_t>(k)];
      d.relative = c.box;
      d.box = PixelBox{(c.box.x - c.box.w / 2) * static_cast<float>(image_w),
                       (c.box.y - c.box.h / 2) * static_cast<float>(image_h), c.box.w * static_cast<float>(image_w),
                       c.box.h * static_cast<float>(image_h)};
      detections.push_back(std::move(d));
    }
  }
  return detections;
}

void check_image(const Image& image) {
  if (image.c != 3 || image.w < 1 || image.h < 1) {
    throw Error(cat("cannot detect on a ", image.w, "x", image.h, "x", image.c, " image; give a 3-channel RGB image"));
  }
}

Image fit(const Network& network, const DetectorOptions& options, const Image& image) {
  check_image(image);
  const Shape net = network.graph().input;
  return fit_image(image, ImageFit{net.w, net.h, options.letterbox, options.resize});
}

// The network's input tensor made of a fitted image (its pixels moved).
Tensor network_input(const Network& network, Image fitted, int image_w, int image_h) {
  const Shape net = network.graph().input;
  if (fitted.c != net.c || fitted.w != net.w || fitted.h != net.h || image_w < 1 || image_h < 1) {
    throw Error(cat("a fitted image must be ", net.w, "x", net.h, "x", net.c, " (the network's input) and come from a ",
                    "positive size; got ", fitted.w, "x", fitted.h, "x", fitted.c, " from ", image_w, "x", image_h));
  }
  Tensor input;  // not Tensor(net): a fresh zeroed buffer costs page faults, the pixels are already there
  input.shape = net;
  input.data = std::move(fitted.data);
  return input;
}

// The heads' outputs decoded, mapped to the image and suppressed: Darknet's
// detection list.
std::vector<Candidate> candidates_from(const Network& network, const DetectorOptions& options,
                                       const std::vector<Tensor>& outputs, int image_w, int image_h) {
  const Graph& graph = network.graph();
  const Shape net = graph.input;
  const std::vector<int> heads = graph.head_layers();
  std::vector<Candidate> candidates;
  for (std::size_t i = 0; i < heads.size(); ++i) {
    decode_head(graph.layers[static_cast<std::size_t>(heads[i])], outputs[i], net, options.threshold, candidates);
  }
  correct_boxes(candidates, image_w, image_h, net.w, net.h, options.letterbox);
  const Layer& head = last_head(graph);
  if (options.nms > 0) {
    const NmsKind cfg_kind = head.kind == LayerKind::Region ? NmsKind::Default : head.as<YoloSpec>().nms_kind;
    const NmsKind kind = options.nms_kind.value_or(cfg_kind);
    const float beta = head.kind == LayerKind::Region ? 0.6f : head.as<YoloSpec>().beta_nms;
    suppress(candidates, head_classes(head), options.nms, kind, beta);
  }
  return candidates;
}

std::vector<Candidate> find_candidates(const Network& network, const DetectorOptions& options, Image fitted,
                                       int image_w, int image_h) {
  const Tensor input = network_input(network, std::move(fitted), image_w, image_h);
  return candidates_from(network, options, network.forward(input), image_w, image_h);
}

}  // namespace

Detector::Detector(const std::string& cfg_path, const std::string& weights_path, DetectorOptions options)
    // `options` is copied, not moved: the order in which the two arguments are
    // made is unspecified, and a move first would load without its calibration.
    : Detector(Network::load(cfg_path, weights_path, options.network), options) {}

Detector::Detector(Network network, DetectorOptions options) : network_(std::move(network)), options_(std::move(options)) {
  check_detector_options(options_);
  last_head(network_.graph());  // fails early for a graph without heads
}

std::vector<Detection> Detector::detect(const std::string& image_path) const {
  return detect(load_image(image_path, options_.max_image_pixels));
}

std::vector<Detection> Detector::detect(const Image& image) const {
  return detect_fitted(fit_to_network(image), image.w, image.h);
}

Image Detector::fit_to_network(const Image& image) const { return fit(network_, options_, image); }

std::vector<Detection> Detector::detect_fitted(const Image& fitted, int width, int height) const {
  std::vector<Candidate> candidates = find_candidates(network_, options_, fitted, width, height);
  return to_detections(candidates, options_, width, height);
}

std::vector<std::vector<Detection>> Detector::detect_batch(const std::vector<Image>& images) const {
  std::vector<FittedImage> batch;
  batch.reserve(images.size());
  for (const Image& image : images) batch.push_back({fit_to_network(image), image.w, image.h});
  return detect_fitted(std::move(batch));
}

std::vector<std::vector<Detection>> Detector::detect_fitted(std::vector<FittedImage> batch) const {
  std::vector<Tensor> inputs;
  inputs.reserve(batch.size());
  for (FittedImage& fitted : batch) inputs.push_back(network_input(network_, std::move(fitted.image), fitted.width, fitted.height));
  const std::vector<std::vector<Tensor>> outputs = network_.forward_batch(inputs);
  std::vector<std::vector<Detection>> detections;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::vector<Candidate> candidates = candidates_from(network_, options_, outputs[i], batch[i].width, batch[i].height);
    detections.push_back(to_detections(candidates, options_, batch[i].width, batch[i].height));
  }
  return detections;
}

std::vector<ScoredBox> Detector::scored_boxes(const Image& image) const {
  std::vector<ScoredBox> boxes;
  for (const Candidate& c : find_candidates(network_, options_, fit_to_network(image), image.w, image.h)) {
    for (std::size_t k = 0; k < c.probs.size(); ++k) {
      if (c.probs[k] > 0) boxes.push_back({static_cast<int>(k), c.probs[k], c.box});
    }
  }
  return boxes;
}

std::vector<Detection> Detector::detect(const unsigned char* pixels, int width, int height, int stride,
                                        PixelFormat format) const {
  return detect(image_from_pixels(pixels, width, height, stride, format));
}

Image image_from_pixels(const unsigned char* pixels, int width, int height, int stride, PixelFormat format) {
  if (pixels == nullptr || width < 1 || height < 1 || stride < 3 * width ||
      std::int64_t{width} * height > kMaxImagePixels) {
    throw Error(cat("invalid pixel buffer: ", width, "x", height, " with a stride of ", stride,
                    " bytes; need a non-null buffer, positive sizes and a stride of at least 3 x width"));
  }
  Image image(width, height, 3);
  const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  const int red = format == PixelFormat::RGB ? 0 : 2;
  for (int y = 0; y < height; ++y) {
    const unsigned char* row = pixels + static_cast<std::ptrdiff_t>(y) * stride;
    for (int x = 0; x < width; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x);
      image.data[i] = static_cast<float>(row[3 * x + red]) / 255.f;
      image.data[plane + i] = static_cast<float>(row[3 * x + 1]) / 255.f;
      image.data[2 * plane + i] = static_cast<float>(row[3 * x + 2 - red]) / 255.f;
    }
  }
  return image;
}

std::vector<std::string> load_labels(const std::string& path) {
  const std::vector<char> bytes = read_file(path, std::size_t{64} << 20, "names");
  std::vector<std::string> labels;
  for (std::string_view line : split(std::string_view(bytes.data(), bytes.size()), '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    labels.emplace_back(line);
  }
  if (!labels.empty() && labels.back().empty()) labels.pop_back();  // the final newline
  return labels;
}

}  // namespace dusk
