#include "engine/activations.hpp"

#include "graph/activation_table.hpp"

#include <cfloat>
#include <cmath>

namespace dusk {

namespace {

float logistic(float x) { return 1.f / (1.f + std::exp(-x)); }
float darknet_tanh(float x) { return 2.f / (1.f + std::exp(-2.f * x)) - 1.f; }

// Darknet's softplus with its threshold of 20 for mish.
float softplus(float x) {
  constexpr float threshold = 20.f;
  if (x > threshold) return x;
  if (x < -threshold) return std::exp(x);
  return std::log(std::exp(x) + 1.f);
}

// Darknet converts floor(x) to int to test its parity; fmod gives the same
// answer without overflowing for huge or non-finite x.
float stair(float x) {
  const float n = std::floor(x);
  if (std::fmod(n, 2.f) == 0) return std::floor(x / 2.f);
  return (x - n) + std::floor(x / 2.f);
}

// normalize_channels: positive parts divided by their sum over channels.
void normalize_channels(float* data, const Shape& shape, int threads) {
  const std::int64_t plane = std::int64_t{shape.h} * shape.w;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t i = 0; i < plane; ++i) {
    float sum = 0.0001f;
    for (int k = 0; k < shape.c; ++k) {
      const float v = data[k * plane + i];
      if (v > 0) sum += v;
    }
    for (int k = 0; k < shape.c; ++k) {
      float& v = data[k * plane + i];
      v = v > 0 ? v / sum : 0.f;
    }
  }
}

// normalize_channels_softmax[_maxval]: softmax over channels at each pixel,
// with Darknet's 0.0001 added to the sum; only _maxval subtracts the maximum.
void softmax_channels(float* data, const Shape& shape, bool subtract_max, int threads) {
  const std::int64_t plane = std::int64_t{shape.h} * shape.w;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t i = 0; i < plane; ++i) {
    float max_value = 0.f;
    if (subtract_max) {
      max_value = -FLT_MAX;
      for (int k = 0; k < shape.c; ++k) max_value = std::fmax(max_value, data[k * plane + i]);
    }
    float sum = 0.0001f;
    for (int k = 0; k < shape.c; ++k) sum += std::exp(data[k * plane + i] - max_value);
    for (int k = 0; k < shape.c; ++k) {
      float& v = data[k * plane + i];
      v = std::exp(v - max_value) / sum;
    }
  }
}

}  // namespace

float activate(float x, Activation activation) {
  switch (activation) {
    case Activation::Linear: return x;
    case Activation::Leaky:
    case Activation::Revleaky: return x > 0 ? x : kLeakySlope * x;  // Darknet computes revleaky as leaky
    case Activation::Relu: return x > 0 ? x : 0.f;
    case Activation::Relu6: return std::fmin(std::fmax(x, 0.f), 6.f);
    case Activation::Logistic: return logistic(x);
    case Activation::Tanh: return darknet_tanh(x);
    case Activation::Elu: return (x >= 0) * x + (x < 0) * (std::exp(x) - 1.f);
    case Activation::Selu: return (x >= 0) * 1.0507f * x + (x < 0) * 1.0507f * 1.6732f * (std::exp(x) - 1.f);
    case Activation::Gelu:  // Darknet's tanh approximation, in double as its C does
      return static_cast<float>(0.5 * x * (1 + std::tanh(static_cast<float>(0.797885 * x + 0.035677 * std::pow(x, 3.f)))));
    case Activation::Swish: return x * logistic(x);
    case Activation::Mish: return x * darknet_tanh(softplus(x));
    case Activation::HardMish:
      if (x > 0) return x;
      if (x > -2) return x * x / 2 + x;
      return 0.f;
    case Activation::Relie: return x > 0 ? x : activation_row(Activation::Relie).negative_slope * x;
    case Activation::Ramp: return x * (x > 0) + .1f * x;
    case Activation::Plse:
      if (x < -4) return .01f * (x + 4);
      if (x > 4) return .01f * (x - 4) + 1;
      return .125f * x + .5f;
    case Activation::Stair: return stair(x);
    case Activation::Hardtan: return x < -1 ? -1.f : (x > 1 ? 1.f : x);
    case Activation::Lhtan:
      if (x < 0) return .001f * x;
      if (x > 1) return .001f * (x - 1) + 1;
      return x;
    case Activation::Loggy: return 2.f / (1.f + std::exp(-x)) - 1;
    case Activation::NormalizeChannels:
    case Activation::NormalizeChannelsSoftmax:
    case Activation::NormalizeChannelsSoftmaxMaxval:
    case Activation::Count: break;
  }
  return x;
}

void apply_pointwise_activation(Activation activation, float* data, std::int64_t count) {
  // The hot cases get loops the compiler can vectorise; activate() has every case.
  const float slope = activation_row(activation).negative_slope;
  if (activation == Activation::Linear) return;
  if (activation == Activation::Relu) {
    for (std::int64_t i = 0; i < count; ++i) data[i] = data[i] > 0 ? data[i] : 0.f;
  } else if (slope > 0) {  // leaky, revleaky (Darknet computes it as leaky), relie
    for (std::int64_t i = 0; i < count; ++i) data[i] = data[i] > 0 ? data[i] : slope * data[i];
  } else {
    for (std::int64_t i = 0; i < count; ++i) data[i] = activate(data[i], activation);
  }
}

void apply_activation(Activation activation, float* data, const Shape& shape, int threads) {
  if (activation_mixes_channels(activation)) {  // the normalize_channels family, pixel by pixel
    if (activation == Activation::NormalizeChannels) {
      normalize_channels(data, shape, threads);
    } else {
      softmax_channels(data, shape, activation == Activation::NormalizeChannelsSoftmaxMaxval, threads);
    }
    return;
  }
  if (activation == Activation::Linear) return;
  const std::int64_t plane = std::int64_t{shape.h} * shape.w;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int c = 0; c < shape.c; ++c) apply_pointwise_activation(activation, data + c * plane, plane);
}

}  // namespace dusk
