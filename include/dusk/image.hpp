#pragma once
// Images as Darknet sees them: RGB float in [0,1], CHW. Loading goes through
// stb_image; resizing and letterboxing reproduce Darknet's own arithmetic.
#include <cstdint>
#include <string>
#include <vector>

namespace dusk {

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
// Grey is replicated, alpha dropped. The header is checked against
// kMaxImagePixels before any pixel is decoded.
Image load_image(const std::string& path);
Image decode_image(const std::vector<unsigned char>& bytes, const std::string& source);

// Darknet's resize_image: bilinear, corners aligned, in two passes.
Image resize_image(const Image& image, int width, int height);
// Darknet's letterbox_image: aspect kept, centred, the rest filled with 0.5.
Image letterbox_image(const Image& image, int width, int height);

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

inline constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 28;  // 268 Mpx
inline constexpr std::size_t kMaxImageBytes = std::size_t{1} << 30;

}  // namespace dusk
