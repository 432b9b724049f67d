#pragma once
// Images as Darknet sees them: RGB float in [0,1], CHW. Loading goes through
// stb_image; resizing and letterboxing reproduce Darknet's own arithmetic.
#include <cstdint>
#include <string>
#include <vector>

namespace dusk {

inline constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 26;  // 67 Mpx, e.g. 8192 x 8192
inline constexpr std::size_t kMaxImageBytes = std::size_t{1} << 30;

struct Image {
  int w = 0;
  int h = 0;
  int c = 0;
  std::vector<float> data;  // c planes of h rows of w floats

  Image() = default;
  Image(int width, int height, int channels, float fill = 0.0f);
  float& at(int x, int y, int ch) { return data[(static_cast<std::size_t>(ch) * h + y) * w + x]; }
  float at(int x, int y, int ch) const { return data[(static_cast<std::size_t>(ch) * h + y) * w + x]; }
};

// Decodes JPEG, PNG, BMP, TGA, GIF (first frame), PNM into 3-channel RGB.
// Grey is replicated, alpha dropped. The size in the header is checked
// against `max_pixels` before any pixel is decoded, so a small file that
// claims a huge image (a decompression bomb) costs nothing.
Image load_image(const std::string& path, std::int64_t max_pixels = kMaxImagePixels);
Image decode_image(const std::vector<unsigned char>& bytes, const std::string& source,
                   std::int64_t max_pixels = kMaxImagePixels);

// Darknet's resize_image: bilinear, corners aligned, in two passes.
Image resize_image(const Image& image, int width, int height);
// Darknet's letterbox_image: aspect kept, centred, the rest filled with 0.5.
Image letterbox_image(const Image& image, int width, int height);

// How an image is scaled to the network: Darknet's resize_image (what
// `detector test` does), OpenCV's INTER_LINEAR (pixel centres aligned; what
// Darknet's `detector demo` does on video), or OpenCV's INTER_NEAREST.
enum class ResizeMethod { Darknet, Linear, Nearest };
Image resize_image(const Image& image, int width, int height, ResizeMethod method);
Image letterbox_image(const Image& image, int width, int height, ResizeMethod method);

// How an image becomes a network's input: its size, whether the aspect is
// kept (letterbox) and the resampling.
struct ImageFit {
  int width = 0;
  int height = 0;
  bool letterbox = false;
  ResizeMethod resize = ResizeMethod::Darknet;
};
// The one fitting rule: Detector::fit_to_network, the job layer, dusk
// calibrate, adapt-bn and forward all fit images through it.
Image fit_image(const Image& image, const ImageFit& fit);

struct Color {
  float r = 0;
  float g = 0;
  float b = 0;
};

// An axis-aligned rectangle outline, `thickness` pixels wide inwards,
// clipped to the image.
void draw_rectangle(Image& image, int left, int top, int right, int bottom, Color color, int thickness);
// `text` (dark or light, whichever contrasts) on a filled `background` box whose bottom-left
// corner is at (left, bottom), kept inside the image. `scale` enlarges the
// built-in 7-pixel font.
void draw_label(Image& image, int left, int bottom, const std::string& text, Color background, int scale);

enum class ImageFormat { Png, Jpeg };
// Encodes an RGB image (values clamped to [0,1]).
std::vector<unsigned char> encode_image(const Image& image, ImageFormat format);
// Writes the encoded image through a temporary file, so it appears whole.
void save_image(const Image& image, const std::string& path, ImageFormat format);


}  // namespace dusk
