// Drawing boxes and labels into an Image. Labels use stb_easy_font, a small
// vector font rendered as filled quads, scaled for legibility.
#include <stb/stb_easy_font.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "dusk/image.hpp"

namespace dusk {

namespace {

void fill(Image& image, int x0, int y0, int x1, int y1, Color color) {
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, image.w);
  y1 = std::min(y1, image.h);
  const float rgb[3] = {color.r, color.g, color.b};
  for (int k = 0; k < std::min(image.c, 3); ++k) {
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) image.at(x, y, k) = rgb[k];
    }
  }
}

}  // namespace

void draw_rectangle(Image& image, int left, int top, int right, int bottom, Color color, int thickness) {
  for (int t = 0; t < thickness; ++t) {
    fill(image, left + t, top + t, right - t + 1, top + t + 1, color);
    fill(image, left + t, bottom - t, right - t + 1, bottom - t + 1, color);
    fill(image, left + t, top + t, left + t + 1, bottom - t + 1, color);
    fill(image, right - t, top + t, right - t + 1, bottom - t + 1, color);
  }
}

void draw_label(Image& image, int left, int bottom, const std::string& text, Color background, int scale) {
  // Dark text on light colours, light text on dark ones.
  const float luminance = 0.299f * background.r + 0.587f * background.g + 0.114f * background.b;
  const Color ink_color = luminance > 0.5f ? Color{0.f, 0.f, 0.f} : Color{1.f, 1.f, 1.f};
  std::string printable = text;
  const int padding = scale;
  const int text_w = stb_easy_font_width(printable.data()) * scale;
  const int text_h = 7 * scale;  // stb_easy_font's cap height
  const int box_w = text_w + 2 * padding;
  const int box_h = text_h + 2 * padding;
  // Above the box when there is room, else inside its top edge.
  const int x = std::clamp(left, 0, std::max(0, image.w - box_w));
  const int y = bottom - box_h < 0 ? 0 : bottom - box_h;
  fill(image, x, y, x + box_w, y + box_h, background);

  // stb_easy_font needs about 270 bytes per character; leave ample room.
  std::vector<char> quads(static_cast<std::size_t>(printable.size()) * 1024 + 64);
  unsigned char ink[4] = {0, 0, 0, 255};
  const int count = stb_easy_font_print(0, 0, printable.data(), ink, quads.data(), static_cast<int>(quads.size()));
  const float* vertices = reinterpret_cast<const float*>(quads.data());
  for (int q = 0; q < count; ++q) {
    const float* v = vertices + q * 16;  // 4 vertices of (x, y, z, colour) each
    const float qx0 = std::min(v[0], v[8]);
    const float qx1 = std::max(v[0], v[8]);
    const float qy0 = std::min(v[1], v[9]);
    const float qy1 = std::max(v[1], v[9]);
    fill(image, x + padding + static_cast<int>(std::lround(qx0 * static_cast<float>(scale))),
         y + padding + static_cast<int>(std::lround(qy0 * static_cast<float>(scale))),
         x + padding + static_cast<int>(std::lround(qx1 * static_cast<float>(scale))),
         y + padding + static_cast<int>(std::lround(qy1 * static_cast<float>(scale))), ink_color);
  }
}

}  // namespace dusk
