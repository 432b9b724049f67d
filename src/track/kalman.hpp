#pragma once
// The constant-velocity Kalman filter ByteTrack (after DeepSORT) runs on a
// box as (centre x, centre y, aspect = width / height, height) plus the four
// velocities. Noise scales with the box's height; the weights are the
// reference's (position 1/20, velocity 1/160 of the height per frame).
//
// The motion, the measurement and every noise term treat the four
// dimensions apart, so the 8 x 8 covariance the reference carries stays
// four 2 x 2 blocks (a dimension and its velocity) with exact zeros
// elsewhere: the filter keeps just the blocks.
#include <array>

namespace dusk::track {

using State = std::array<double, 8>;        // x, y, a, h, vx, vy, va, vh
using Covariance = std::array<double, 64>;  // 8 x 8, row-major
using Measurement = std::array<double, 4>;  // x, y, a, h

struct Gaussian {
  State mean{};
  std::array<double, 4> pos_pos{};  // per dimension: variance of the value,
  std::array<double, 4> pos_vel{};  // its covariance with the velocity,
  std::array<double, 4> vel_vel{};  // and the velocity's variance
  Covariance covariance() const;    // the full 8 x 8 matrix
};

// A new track at `box` with no velocity and the reference's initial spread.
Gaussian kalman_initiate(const Measurement& box);
// One frame ahead.
void kalman_predict(Gaussian& estimate);
// Corrects the estimate with a measured box.
void kalman_update(Gaussian& estimate, const Measurement& box);

}  // namespace dusk::track
