#pragma once
// The constant-velocity Kalman filter ByteTrack (after DeepSORT) runs on a
// box as (centre x, centre y, aspect = width / height, height) plus the four
// velocities. Noise scales with the box's height; the weights are the
// reference's (position 1/20, velocity 1/160 of the height per frame).
#include <array>

namespace dusk::track {

using State = std::array<double, 8>;        // x, y, a, h, vx, vy, va, vh
using Covariance = std::array<double, 64>;  // 8 x 8, row-major
using Measurement = std::array<double, 4>;  // x, y, a, h

struct Gaussian {
  State mean{};
  Covariance covariance{};
};

// A new track at `box` with no velocity and the reference's initial spread.
Gaussian kalman_initiate(const Measurement& box);
// One frame ahead.
void kalman_predict(Gaussian& estimate);
// Corrects the estimate with a measured box.
void kalman_update(Gaussian& estimate, const Measurement& box);

}  // namespace dusk::track
