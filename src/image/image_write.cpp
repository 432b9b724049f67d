// Encoding images with stb_image_write, and writing them whole.
#include <stb/stb_image_write.h>

#include <algorithm>

#include "dusk/error.hpp"
#include "dusk/image.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<unsigned char>*>(context);
  const auto* bytes = static_cast<const unsigned char*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

}  // namespace

std::vector<unsigned char> encode_image(const Image& image, ImageFormat format) {
  if (image.c != 3 || image.w < 1 || image.h < 1) {
    throw Error(cat("cannot encode a ", image.w, "x", image.h, "x", image.c, " image; only RGB images are written"));
  }
  const std::size_t plane = static_cast<std::size_t>(image.w) * static_cast<std::size_t>(image.h);
  std::vector<unsigned char> pixels(plane * 3);
  for (std::size_t i = 0; i < plane; ++i) {
    for (std::size_t k = 0; k < 3; ++k) {
      const float v = std::clamp(image.data[k * plane + i], 0.f, 1.f);
      pixels[i * 3 + k] = static_cast<unsigned char>(v * 255.f + 0.5f);
    }
  }
  std::vector<unsigned char> encoded;
  const int ok = format == ImageFormat::Png
                     ? stbi_write_png_to_func(append_bytes, &encoded, image.w, image.h, 3, pixels.data(), image.w * 3)
                     : stbi_write_jpg_to_func(append_bytes, &encoded, image.w, image.h, 3, pixels.data(), 90);
  if (!ok) throw Error(cat("cannot encode a ", image.w, "x", image.h, " image"));
  return encoded;
}

void save_image(const Image& image, const std::string& path, ImageFormat format) {
  const std::vector<unsigned char> bytes = encode_image(image, format);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace dusk
