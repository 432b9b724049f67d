// Darknet's resize_image and letterbox_image, reproduced in the same float
// arithmetic so that network inputs match Darknet's bit for bit.
#include "dusk/error.hpp"
#include "dusk/image.hpp"
#include "util/text.hpp"

namespace dusk {

Image resize_image(const Image& image, int width, int height) {
  if (width <= 0 || height <= 0) throw Error(cat("cannot resize an image to ", width, "x", height));
  if (image.w == width && image.h == height) return image;
  Image resized(width, height, image.c);
  Image part(width, image.h, image.c);  // resized horizontally only
  // A 1-pixel-wide or -high target would divide by zero (Darknet then reads
  // out of bounds); it samples the first row or column instead.
  const float w_scale = width > 1 ? static_cast<float>(image.w - 1) / static_cast<float>(width - 1) : 0.f;
  const float h_scale = height > 1 ? static_cast<float>(image.h - 1) / static_cast<float>(height - 1) : 0.f;
  for (int k = 0; k < image.c; ++k) {
    for (int r = 0; r < image.h; ++r) {
      for (int c = 0; c < width; ++c) {
        float value = 0;
        if (c == width - 1 || image.w == 1) {
          value = image.at(image.w - 1, r, k);
        } else {
          const float sx = static_cast<float>(c) * w_scale;
          const int ix = static_cast<int>(sx);
          const float dx = sx - static_cast<float>(ix);
          value = (1 - dx) * image.at(ix, r, k) + dx * image.at(ix + 1, r, k);
        }
        part.at(c, r, k) = value;
      }
    }
  }
  for (int k = 0; k < image.c; ++k) {
    for (int r = 0; r < height; ++r) {
      const float sy = static_cast<float>(r) * h_scale;
      const int iy = static_cast<int>(sy);
      const float dy = sy - static_cast<float>(iy);
      for (int c = 0; c < width; ++c) resized.at(c, r, k) = (1 - dy) * part.at(c, iy, k);
      // Darknet leaves the last row (and 1-row images) to the first term alone.
      if (r == height - 1 || image.h == 1) continue;
      for (int c = 0; c < width; ++c) resized.at(c, r, k) += dy * part.at(c, iy + 1, k);
    }
  }
  return resized;
}

Image letterbox_image(const Image& image, int width, int height) {
  int new_w = image.w;
  int new_h = image.h;
  if (static_cast<float>(width) / static_cast<float>(image.w) < static_cast<float>(height) / static_cast<float>(image.h)) {
    new_w = width;
    new_h = (image.h * width) / image.w;
  } else {
    new_h = height;
    new_w = (image.w * height) / image.h;
  }
  new_w = new_w < 1 ? 1 : new_w;
  new_h = new_h < 1 ? 1 : new_h;
  const Image resized = resize_image(image, new_w, new_h);
  Image boxed(width, height, image.c, 0.5f);
  const int dx = (width - new_w) / 2;
  const int dy = (height - new_h) / 2;
  for (int k = 0; k < image.c; ++k) {
    for (int y = 0; y < new_h; ++y) {
      for (int x = 0; x < new_w; ++x) boxed.at(x + dx, y + dy, k) = resized.at(x, y, k);
    }
  }
  return boxed;
}

}  // namespace dusk
