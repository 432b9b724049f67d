// Written from the filter's equations, per dimension (see kalman.hpp), in
// double precision as the reference (NumPy) computes them. The gain is
// solved through the Cholesky factor as the reference's cho_solve does: a
// division by sqrt(S) twice.
#include "track/kalman.hpp"

#include <cmath>

namespace dusk::track {

namespace {

constexpr double kPositionWeight = 1.0 / 20;
constexpr double kVelocityWeight = 1.0 / 160;

double square(double v) { return v * v; }

}  // namespace

Covariance Gaussian::covariance() const {
  Covariance m{};
  for (std::size_t d = 0; d < 4; ++d) {
    m[d * 8 + d] = pos_pos[d];
    m[d * 8 + d + 4] = m[(d + 4) * 8 + d] = pos_vel[d];
    m[(d + 4) * 8 + d + 4] = vel_vel[d];
  }
  return m;
}

Gaussian kalman_initiate(const Measurement& box) {
  Gaussian g;
  const double h = box[3];
  const double pos[4] = {2 * kPositionWeight * h, 2 * kPositionWeight * h, 1e-2, 2 * kPositionWeight * h};
  const double vel[4] = {10 * kVelocityWeight * h, 10 * kVelocityWeight * h, 1e-5, 10 * kVelocityWeight * h};
  for (std::size_t d = 0; d < 4; ++d) {
    g.mean[d] = box[d];
    g.pos_pos[d] = square(pos[d]);
    g.vel_vel[d] = square(vel[d]);
  }
  return g;
}

void kalman_predict(Gaussian& g) {
  const double h = g.mean[3];  // the noise follows the height before the step
  const double pos[4] = {kPositionWeight * h, kPositionWeight * h, 1e-2, kPositionWeight * h};
  const double vel[4] = {kVelocityWeight * h, kVelocityWeight * h, 1e-5, kVelocityWeight * h};
  for (std::size_t d = 0; d < 4; ++d) {
    g.mean[d] += g.mean[d + 4];
    // F P F^T with F = [[1, 1], [0, 1]] on each block, plus the motion noise.
    g.pos_pos[d] = g.pos_pos[d] + g.pos_vel[d] + g.pos_vel[d] + g.vel_vel[d] + square(pos[d]);
    g.pos_vel[d] = g.pos_vel[d] + g.vel_vel[d];
    g.vel_vel[d] = g.vel_vel[d] + square(vel[d]);
  }
}

void kalman_update(Gaussian& g, const Measurement& box) {
  const double h = g.mean[3];
  const double noise[4] = {kPositionWeight * h, kPositionWeight * h, 1e-1, kPositionWeight * h};
  for (std::size_t d = 0; d < 4; ++d) {
    const double factor = std::sqrt(g.pos_pos[d] + square(noise[d]));  // Cholesky of the innovation variance
    const double gain_pos = g.pos_pos[d] / factor / factor;
    const double gain_vel = g.pos_vel[d] / factor / factor;
    const double innovation = box[d] - g.mean[d];
    g.mean[d] += innovation * gain_pos;
    g.mean[d + 4] += innovation * gain_vel;
    // P - K S K^T = P - (P H^T) K^T on the block.
    const double pos_pos = g.pos_pos[d], pos_vel = g.pos_vel[d];
    g.pos_pos[d] = pos_pos - pos_pos * gain_pos;
    g.pos_vel[d] = pos_vel - pos_pos * gain_vel;
    g.vel_vel[d] = g.vel_vel[d] - pos_vel * gain_vel;
  }
}

}  // namespace dusk::track
