#pragma once
// Numeric comparison helpers that report where tensors differ most.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace dusk::test {

struct Difference {
  double max_abs = 0;      // largest |a - b|
  std::int64_t where = -1;  // its index
  double max_magnitude = 0;  // largest |b|, to scale tolerances
  bool size_mismatch = false;
};

inline Difference compare(const float* a, const float* b, std::int64_t count) {
  Difference d;
  for (std::int64_t i = 0; i < count; ++i) {
    const double diff = std::fabs(double{a[i]} - double{b[i]});
    if (!(diff <= d.max_abs)) {  // NaN counts as the worst
      d.max_abs = std::isnan(diff) ? INFINITY : diff;
      d.where = i;
    }
    d.max_magnitude = std::fmax(d.max_magnitude, std::fabs(double{b[i]}));
  }
  return d;
}

inline Difference compare(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) {
    Difference d;
    d.size_mismatch = true;
    d.max_abs = INFINITY;
    return d;
  }
  return compare(a.data(), b.data(), static_cast<std::int64_t>(a.size()));
}

inline std::string describe(const Difference& d) {
  if (d.size_mismatch) return "sizes differ";
  return "max |diff| " + std::to_string(d.max_abs) + " at " + std::to_string(d.where) + ", max |value| " +
         std::to_string(d.max_magnitude);
}

}  // namespace dusk::test
