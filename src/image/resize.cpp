// Darknet's resize_image and letterbox_image, reproduced in the same float
// arithmetic so that network inputs match Darknet's bit for bit; and
// OpenCV's INTER_LINEAR and INTER_NEAREST (what Darknet's video demo and some
// ports use), so any of those tools can be reproduced.
#include <algorithm>
#include <cmath>

#include "dusk/error.hpp"
#include "dusk/image.hpp"
#include "dusk/text.hpp"

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

namespace {

// OpenCV's INTER_NEAREST: source index floor(x * src / dst) in double.
std::vector<int> nearest_indices(int source, int target) {
  const double scale = 1.0 / (static_cast<double>(target) / source);
  std::vector<int> index(static_cast<std::size_t>(target));
  for (int x = 0; x < target; ++x) index[static_cast<std::size_t>(x)] = std::min(static_cast<int>(std::floor(x * scale)), source - 1);
  return index;
}

struct LinearTap {
  int first = 0;
  float weight = 0;  // of first + 1
};

// OpenCV's INTER_LINEAR: pixel centres aligned ((x + 0.5) * scale - 0.5),
// clamped at the borders.
std::vector<LinearTap> linear_taps(int source, int target) {
  const double scale = 1.0 / (static_cast<double>(target) / source);
  std::vector<LinearTap> taps(static_cast<std::size_t>(target));
  for (int x = 0; x < target; ++x) {
    float f = static_cast<float>((x + 0.5) * scale - 0.5);
    int s = static_cast<int>(std::floor(f));
    f -= static_cast<float>(s);
    if (s < 0) s = 0, f = 0;
    if (s >= source - 1) s = source - 1, f = 0;
    taps[static_cast<std::size_t>(x)] = {s, f};
  }
  return taps;
}

Image resize_nearest(const Image& image, int width, int height) {
  const std::vector<int> xs = nearest_indices(image.w, width);
  const std::vector<int> ys = nearest_indices(image.h, height);
  Image resized(width, height, image.c);
  for (int k = 0; k < image.c; ++k) {
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) resized.at(x, y, k) = image.at(xs[static_cast<std::size_t>(x)], ys[static_cast<std::size_t>(y)], k);
    }
  }
  return resized;
}

Image resize_linear(const Image& image, int width, int height) {
  const std::vector<LinearTap> xs = linear_taps(image.w, width);
  const std::vector<LinearTap> ys = linear_taps(image.h, height);
  Image resized(width, height, image.c);
  std::vector<float> row0(static_cast<std::size_t>(width));
  std::vector<float> row1(static_cast<std::size_t>(width));
  const auto horizontal = [&](int k, int y, std::vector<float>& row) {
    for (int x = 0; x < width; ++x) {
      const LinearTap t = xs[static_cast<std::size_t>(x)];
      const int next = std::min(t.first + 1, image.w - 1);
      row[static_cast<std::size_t>(x)] = image.at(t.first, y, k) * (1 - t.weight) + image.at(next, y, k) * t.weight;
    }
  };
  for (int k = 0; k < image.c; ++k) {
    for (int y = 0; y < height; ++y) {
      const LinearTap t = ys[static_cast<std::size_t>(y)];
      horizontal(k, t.first, row0);
      horizontal(k, std::min(t.first + 1, image.h - 1), row1);
      for (int x = 0; x < width; ++x) {
        resized.at(x, y, k) = row0[static_cast<std::size_t>(x)] * (1 - t.weight) + row1[static_cast<std::size_t>(x)] * t.weight;
      }
    }
  }
  return resized;
}

}  // namespace

Image resize_image(const Image& image, int width, int height, ResizeMethod method) {
  if (method == ResizeMethod::Darknet) return resize_image(image, width, height);
  if (width <= 0 || height <= 0) throw Error(cat("cannot resize an image to ", width, "x", height));
  if (image.w == width && image.h == height) return image;
  return method == ResizeMethod::Linear ? resize_linear(image, width, height) : resize_nearest(image, width, height);
}

Image letterbox_image(const Image& image, int width, int height) {
  return letterbox_image(image, width, height, ResizeMethod::Darknet);
}

Image letterbox_image(const Image& image, int width, int height, ResizeMethod method) {
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
  const Image resized = resize_image(image, new_w, new_h, method);
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

Image fit_image(const Image& image, const ImageFit& fit) {
  return fit.letterbox ? letterbox_image(image, fit.width, fit.height, fit.resize)
                       : resize_image(image, fit.width, fit.height, fit.resize);
}

}  // namespace dusk
