// Reference activations of the detection heads, as Darknet's forward passes
// leave their outputs (CHW, one block of channels per anchor).
#include <cfloat>
#include <cmath>

#include "engine/kernels/ref/ref_kernels.hpp"

namespace dusk::ref {

namespace {

float logistic(float x) { return 1.f / (1.f + std::exp(-x)); }

void logistic_in_place(float* data, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) data[i] = logistic(data[i]);
}

// x -> x*scale - 0.5*(scale-1): widens the logistic's range about 0.5.
void scale_about_half(float* data, std::int64_t count, float scale) {
  const float shift = static_cast<float>(-0.5 * (scale - 1));
  for (std::int64_t i = 0; i < count; ++i) data[i] = data[i] * scale + shift;
}

}  // namespace

void yolo_activate(float* data, const Shape& shape, const YoloSpec& spec) {
  const std::int64_t plane = std::int64_t{shape.h} * shape.w;
  const int per_anchor = spec.classes + 5;
  for (std::size_t n = 0; n < spec.mask.size(); ++n) {
    float* anchor = data + static_cast<std::int64_t>(n) * per_anchor * plane;
    if (!spec.new_coords) {  // with new_coords the conv before already applied logistic
      logistic_in_place(anchor, 2 * plane);
      logistic_in_place(anchor + 4 * plane, (1 + spec.classes) * plane);
    }
    scale_about_half(anchor, 2 * plane, spec.scale_x_y);
  }
}

void gaussian_yolo_activate(float* data, const Shape& shape, const YoloSpec& spec) {
  const std::int64_t plane = std::int64_t{shape.h} * shape.w;
  const int per_anchor = spec.classes + 9;
  for (std::size_t n = 0; n < spec.mask.size(); ++n) {
    float* anchor = data + static_cast<std::int64_t>(n) * per_anchor * plane;
    logistic_in_place(anchor, 2 * plane);  // x mean and sigma
    scale_about_half(anchor, plane, spec.scale_x_y);
    logistic_in_place(anchor + 2 * plane, 2 * plane);  // y mean and sigma
    scale_about_half(anchor + 2 * plane, plane, spec.scale_x_y);
    logistic_in_place(anchor + 5 * plane, plane);  // w sigma
    logistic_in_place(anchor + 7 * plane, plane);  // h sigma
    logistic_in_place(anchor + 8 * plane, (1 + spec.classes) * plane);
  }
}

void region_activate(float* data, const Shape& shape, const RegionSpec& spec) {
  const std::int64_t plane = std::int64_t{shape.h} * shape.w;
  const int per_anchor = spec.coords + 1 + spec.classes;
  for (int n = 0; n < spec.num; ++n) {
    float* anchor = data + std::int64_t{n} * per_anchor * plane;
    logistic_in_place(anchor, 2 * plane);
    logistic_in_place(anchor + spec.coords * plane, plane);
    if (!spec.softmax) continue;
    float* classes = anchor + (spec.coords + 1) * plane;
    for (std::int64_t i = 0; i < plane; ++i) {  // softmax across the class channels of each cell
      float largest = -FLT_MAX;
      for (int k = 0; k < spec.classes; ++k) largest = std::fmax(largest, classes[k * plane + i]);
      float sum = 0.f;
      for (int k = 0; k < spec.classes; ++k) {
        float& v = classes[k * plane + i];
        v = std::exp(v - largest);
        sum += v;
      }
      for (int k = 0; k < spec.classes; ++k) classes[k * plane + i] /= sum;
    }
  }
}

}  // namespace dusk::ref
