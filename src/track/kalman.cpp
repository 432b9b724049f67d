// Written from the filter's equations, in double precision as the reference
// (NumPy) computes them. The motion matrix is [[I, I], [0, I]] and the
// measurement takes the first four components, so both products are written
// out as additions and slices instead of 8 x 8 matrix products.
#include "track/kalman.hpp"

#include <cmath>

namespace dusk::track {

namespace {

constexpr double kPositionWeight = 1.0 / 20;
constexpr double kVelocityWeight = 1.0 / 160;

double& at(Covariance& m, int row, int col) { return m[static_cast<std::size_t>(row * 8 + col)]; }
double at(const Covariance& m, int row, int col) { return m[static_cast<std::size_t>(row * 8 + col)]; }

double square(double v) { return v * v; }

}  // namespace

Gaussian kalman_initiate(const Measurement& box) {
  Gaussian g;
  for (int i = 0; i < 4; ++i) g.mean[static_cast<std::size_t>(i)] = box[static_cast<std::size_t>(i)];
  const double h = box[3];
  const double stds[8] = {2 * kPositionWeight * h, 2 * kPositionWeight * h, 1e-2, 2 * kPositionWeight * h,
                          10 * kVelocityWeight * h, 10 * kVelocityWeight * h, 1e-5, 10 * kVelocityWeight * h};
  for (int i = 0; i < 8; ++i) at(g.covariance, i, i) = square(stds[i]);
  return g;
}

void kalman_predict(Gaussian& g) {
  const double h = g.mean[3];  // the noise follows the height before the step
  const double noise[8] = {kPositionWeight * h, kPositionWeight * h, 1e-2, kPositionWeight * h,
                           kVelocityWeight * h, kVelocityWeight * h, 1e-5, kVelocityWeight * h};
  for (std::size_t i = 0; i < 4; ++i) g.mean[i] += g.mean[i + 4];
  // F P F^T with P = [[A, B], [C, D]]: [[A + B + C + D, B + D], [C + D, D]].
  const Covariance p = g.covariance;
  for (int r = 0; r < 8; ++r) {
    for (int c = 0; c < 8; ++c) {
      double v = at(p, r, c);
      if (r < 4) v += at(p, r + 4, c);
      if (c < 4) v += at(p, r, c + 4);
      if (r < 4 && c < 4) v += at(p, r + 4, c + 4);
      at(g.covariance, r, c) = v;
    }
  }
  for (int i = 0; i < 8; ++i) at(g.covariance, i, i) += square(noise[i]);
}

void kalman_update(Gaussian& g, const Measurement& box) {
  const double h = g.mean[3];
  const double noise[4] = {kPositionWeight * h, kPositionWeight * h, 1e-1, kPositionWeight * h};
  // Innovation covariance S = H P H^T + R (the top-left 4 x 4 block plus noise).
  double s[4][4];
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) s[r][c] = at(g.covariance, r, c);
    s[r][r] += square(noise[r]);
  }
  // Cholesky S = L L^T.
  double l[4][4] = {};
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c <= r; ++c) {
      double sum = s[r][c];
      for (int k = 0; k < c; ++k) sum -= l[r][k] * l[c][k];
      l[r][c] = r == c ? std::sqrt(sum) : sum / l[c][c];
    }
  }
  // Kalman gain K (8 x 4) solves K S = P H^T, i.e. S K^T = H P^T: per state
  // row, a forward and a backward substitution.
  double gain[8][4];
  for (int row = 0; row < 8; ++row) {
    double y[4];
    for (int r = 0; r < 4; ++r) {
      double sum = at(g.covariance, row, r);  // (P H^T)[row][r]; P is symmetric
      for (int k = 0; k < r; ++k) sum -= l[r][k] * y[k];
      y[r] = sum / l[r][r];
    }
    for (int r = 3; r >= 0; --r) {
      double sum = y[r];
      for (int k = r + 1; k < 4; ++k) sum -= l[k][r] * gain[row][k];
      gain[row][r] = sum / l[r][r];
    }
  }
  double innovation[4];
  for (std::size_t i = 0; i < 4; ++i) innovation[i] = box[i] - g.mean[i];
  for (int row = 0; row < 8; ++row) {
    double v = 0;
    for (int k = 0; k < 4; ++k) v += innovation[k] * gain[row][k];
    g.mean[static_cast<std::size_t>(row)] += v;
  }
  // P - K S K^T.
  double ks[8][4];
  for (int row = 0; row < 8; ++row) {
    for (int c = 0; c < 4; ++c) {
      double v = 0;
      for (int k = 0; k < 4; ++k) v += gain[row][k] * s[k][c];
      ks[row][c] = v;
    }
  }
  for (int r = 0; r < 8; ++r) {
    for (int c = 0; c < 8; ++c) {
      double v = 0;
      for (int k = 0; k < 4; ++k) v += ks[r][k] * gain[c][k];
      at(g.covariance, r, c) -= v;
    }
  }
}

}  // namespace dusk::track
