// Annotated copies of images: boxes and labels in Darknet's class colours.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "dusk/detector.hpp"

namespace dusk {

Color class_color(int class_id, int classes) {
  // Darknet spreads classes over a magenta-blue-cyan-green-yellow-red ramp,
  // visiting them in the order class * 123457 % classes.
  static constexpr float ramp[6][3] = {{1, 0, 1}, {0, 0, 1}, {0, 1, 1}, {0, 1, 0}, {1, 1, 0}, {1, 0, 0}};
  const int total = std::max(classes, 1);
  const int offset = static_cast<int>((static_cast<long long>(class_id) * 123457) % total);
  float ratio = static_cast<float>(offset) / static_cast<float>(total) * 5;
  const int i = static_cast<int>(std::floor(ratio));
  const int j = static_cast<int>(std::ceil(ratio));
  ratio -= static_cast<float>(i);
  const auto channel = [&](int c) { return (1 - ratio) * ramp[i][c] + ratio * ramp[j][c]; };
  return Color{channel(0), channel(1), channel(2)};
}

namespace {

// A coordinate as a pixel index inside [0, limit - 1]; NaN and huge values
// (from broken weights) are clamped before conversion, never converted raw.
int pixel(float value, int limit) {
  if (!(value > 0)) return 0;
  if (value >= static_cast<float>(limit - 1)) return limit - 1;
  return static_cast<int>(value);
}

}  // namespace

void draw_detections(Image& image, const std::vector<Detection>& detections, int classes) {
  std::vector<const Detection*> order;
  for (const Detection& d : detections) order.push_back(&d);
  std::stable_sort(order.begin(), order.end(),
                   [](const Detection* a, const Detection* b) { return a->confidence < b->confidence; });
  const int side = std::min(image.w, image.h);
  const int thickness = std::max(2, side / 200);
  const int scale = std::max(1, side / 250);
  for (const Detection* d : order) {
    const Color color = class_color(d->class_id, classes);
    const int left = pixel(d->box.left, image.w);
    const int top = pixel(d->box.top, image.h);
    const int right = pixel(d->box.left + d->box.width, image.w);
    const int bottom = pixel(d->box.top + d->box.height, image.h);
    draw_rectangle(image, left, top, right, bottom, color, thickness);
    char text[256];
    std::snprintf(text, sizeof text, "%s %.0f%%", d->label.c_str(), static_cast<double>(d->confidence) * 100);
    draw_label(image, left, top, text, color, scale);
  }
}

}  // namespace dusk
