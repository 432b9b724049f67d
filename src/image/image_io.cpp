// Decoding image files into Darknet's RGB float CHW layout with stb_image.
#include <stb/stb_image.h>

#include <algorithm>
#include <memory>
#include <span>

#include "dusk/error.hpp"
#include "dusk/image.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"
#include "util/memory.hpp"

namespace dusk {

Image::Image(int width, int height, int channels, float fill)
    : w(width), h(height), c(channels),
      data(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * static_cast<std::size_t>(channels), fill) {}

namespace {

Image decode_bytes(const unsigned char* data, std::size_t size, const std::string& source, std::int64_t max_pixels) {
  const std::span<const unsigned char> bytes(data, size);
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX)) {
    throw Error(cat(source, ": image file is larger than 2 GiB; dusk cannot decode it"));
  }
  const int length = static_cast<int>(bytes.size());
  int width = 0;
  int height = 0;
  int channels = 0;
  // A PNG's size is in its first chunk; stb refuses one of over 2^30 bytes
  // as "unknown image type", which would hide that a limit was the reason.
  static const unsigned char kPngSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() >= 24 && std::equal(std::begin(kPngSignature), std::end(kPngSignature), bytes.begin()) &&
      std::equal(bytes.begin() + 12, bytes.begin() + 16, "IHDR")) {
    const auto be32 = [&](std::size_t at) {
      return (std::int64_t{bytes[at]} << 24) | (std::int64_t{bytes[at + 1]} << 16) | (std::int64_t{bytes[at + 2]} << 8) |
             std::int64_t{bytes[at + 3]};
    };
    const std::int64_t claimed_w = be32(16), claimed_h = be32(20);  // each below 2^32
    if (claimed_w > 0 && claimed_h > 0 && claimed_w > max_pixels / claimed_h) {  // w x h > max, without overflow
      throw LimitError({cat(source, ": image is ", claimed_w, "x", claimed_h, " = ",
                            static_cast<std::uint64_t>(claimed_w) * static_cast<std::uint64_t>(claimed_h),
                            " pixels, more than the limit of ", max_pixels, "; raise the limit ("),
                        Option::MaxImagePixels, ") if the image is genuine"});
    }
  }
  if (!stbi_info_from_memory(bytes.data(), length, &width, &height, &channels)) {
    throw Error(cat(source, ": not a readable image (", stbi_failure_reason(),
                    "); dusk reads JPEG, PNG, BMP, TGA, GIF and PNM"));
  }
  if (width <= 0 || height <= 0) {
    throw Error(cat(source, ": image header claims ", width, "x", height, " pixels; the file is corrupt"));
  }
  if (std::int64_t{width} * height > max_pixels) {
    throw LimitError({cat(source, ": image is ", width, "x", height, " = ", std::int64_t{width} * height,
                          " pixels, more than the limit of ", max_pixels, "; raise the limit ("),
                      Option::MaxImagePixels, ") if the image is genuine"});
  }
  // Decoded in the file's own channel count: stb's conversion of 16-bit
  // PNM files to another count reads out of bounds, so dusk converts itself.
  const std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes.data(), length, &width, &height, &channels, 0), stbi_image_free);
  if (!pixels) {
    throw Error(cat(source, ": cannot decode image (", stbi_failure_reason(), "); the file may be truncated or corrupt"));
  }
  if (channels < 1 || channels > 4) throw Error(cat(source, ": image has ", channels, " channels; expected 1 to 4"));
  // A large image is many fresh pages each call: populated in one go
  // (resize_prefaulted), not one page fault at a time as the loop below first touches them.
  Image image;
  image.w = width;
  image.h = height;
  image.c = 3;
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  resize_prefaulted(image.data, 3 * plane);
  const std::size_t stride = static_cast<std::size_t>(channels);
  const bool grey = channels < 3;  // grey, or grey and alpha
  for (std::size_t i = 0; i < plane; ++i) {
    const stbi_uc* pixel = pixels.get() + i * stride;
    for (std::size_t k = 0; k < 3; ++k) image.data[k * plane + i] = static_cast<float>(pixel[grey ? 0 : k]) / 255.f;
  }
  return image;
}

}  // namespace

Image decode_image(const std::vector<unsigned char>& bytes, const std::string& source, std::int64_t max_pixels) {
  return decode_bytes(bytes.data(), bytes.size(), source, max_pixels);
}

Image load_image(const std::string& path, std::int64_t max_pixels) {
  const std::vector<char> bytes = read_file(path, kMaxImageBytes, "image");
  return decode_bytes(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), path, max_pixels);
}

}  // namespace dusk
