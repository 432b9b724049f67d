#pragma once
// Object detection as Darknet's `detector test` does it: fit the image to
// the network, run it, decode every head, threshold, NMS, and map the boxes
// back to the original image.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dusk/image.hpp"
#include "dusk/network.hpp"

namespace dusk {

// A box as Darknet keeps it: centre and size relative to the image (0..1).
struct RelativeBox {
  float x = 0;
  float y = 0;
  float w = 0;
  float h = 0;
};

// A box in pixels of the original image: top-left corner and size.
struct PixelBox {
  float left = 0;
  float top = 0;
  float width = 0;
  float height = 0;
};

// One box for one class. A box whose probability passes the threshold for
// several classes is reported once per such class, as Darknet does.
struct Detection {
  int class_id = 0;
  std::string label;  // from the names file, else the class id
  float confidence = 0;  // objectness x class probability
  PixelBox box;
  RelativeBox relative;
};

// One class of one candidate box, with its probability (objectness x class
// probability), as Darknet's detection list holds it after NMS.
struct ScoredBox {
  int class_id = 0;
  float prob = 0;
  RelativeBox box;  // relative to the original image
};

struct DetectorOptions {
  float threshold = 0.25f;       // on objectness x class probability
  float nms = 0.45f;             // overlap above which a weaker box of a class goes; 0 disables NMS
  // How overlap is measured. Default is Darknet's do_nms_sort (plain IoU),
  // which is what Darknet's reference outputs show even for cfgs that set
  // nms_kind=greedynms; nullopt applies the cfg's nms_kind and beta_nms the
  // way Darknet's detector-test source does (DIoU for greedynms/diounms).
  std::optional<NmsKind> nms_kind = NmsKind::Default;
  bool letterbox = false;        // keep the aspect ratio (Darknet's -letter_box)
  ResizeMethod resize = ResizeMethod::Darknet;  // how the image is scaled to the network
  // How Detector(cfg, weights, options) loads the network: input size
  // (0: the cfg's), threads, backend, memory limits. A Detector made from a
  // Network uses that network's own.
  NetworkOptions network;
  std::int64_t max_image_pixels = kMaxImagePixels;  // for detect(path)
  std::vector<std::string> labels;  // class names; empty: class ids
};

enum class PixelFormat { RGB, BGR };

// An image fitted to the network (Detector::fit_to_network) and the size of
// the original it came from, which the boxes are mapped back to.
struct FittedImage {
  Image image;
  int width = 0;
  int height = 0;
};

// Loads a network once and detects on any number of images. detect() is
// const and keeps no state between calls, so several threads may call it on
// one Detector at once; each call then runs with options.threads threads.
class Detector {
 public:
  Detector(const std::string& cfg_path, const std::string& weights_path, DetectorOptions options = {});
  Detector(Network network, DetectorOptions options);

  std::vector<Detection> detect(const std::string& image_path) const;
  std::vector<Detection> detect(const Image& image) const;
  // 8-bit interleaved pixels, `stride` bytes per row (>= 3 * width).
  std::vector<Detection> detect(const unsigned char* pixels, int width, int height, int stride,
                                PixelFormat format) const;

  // The two halves of detect(image), for pipelines that run them on
  // different threads: the network's input for `image` (resized or
  // letterboxed as the options say), then the detections for such an input
  // whose original image was width x height.
  Image fit_to_network(const Image& image) const;
  std::vector<Detection> detect_fitted(const Image& fitted, int width, int height) const;

  // Several images at once, through Network::forward_batch (side by side on
  // shares of the threads: more images per second than one after another
  // when one image keeps the threads only partly busy); per image, in the
  // order given, what detect() or detect_fitted() returns for it.
  std::vector<std::vector<Detection>> detect_batch(const std::vector<Image>& images) const;
  std::vector<std::vector<Detection>> detect_fitted(std::vector<FittedImage> batch) const;

  // Every class of every box whose probability passes options.threshold
  // after NMS, in Darknet's list order (boxes as the NMS sort left them,
  // classes ascending): what `detector map` evaluates.
  std::vector<ScoredBox> scored_boxes(const Image& image) const;

  const Network& network() const { return network_; }
  int classes() const { return network_.graph().classes(); }  // what class_id ranges over
  const DetectorOptions& options() const { return options_; }

 private:
  Network network_;
  DetectorOptions options_;
};

// Darknet's colour for a class: a point on its six-colour ramp.
Color class_color(int class_id, int classes);
// Draws each detection's box and a "label NN%" tag in its class colour,
// weakest first so the strongest stay on top.
void draw_detections(Image& image, const std::vector<Detection>& detections, int classes);

// Reads a Darknet .names file: one class name per line.
std::vector<std::string> load_labels(const std::string& path);

// Converts 8-bit interleaved pixels to dusk's float RGB planes.
Image image_from_pixels(const unsigned char* pixels, int width, int height, int stride, PixelFormat format);

}  // namespace dusk
