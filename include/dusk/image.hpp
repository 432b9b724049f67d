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

inline constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 28;  // 268 Mpx
inline constexpr std::size_t kMaxImageBytes = std::size_t{1} << 30;

}  // namespace dusk
