#pragma once
// One row per Activation: its cfg name and the constants the kernels, the
// fast path and the ONNX export share. A new activation is one row here
// (the static_asserts below fail until it exists) plus its kernels, which
// the switches without `default:` then ask for.
#include <array>
#include <cstddef>
#include <string_view>

#include "dusk/graph.hpp"

namespace dusk {

struct ActivationRow {
  Activation activation;
  std::string_view name;   // as the cfg writes it
  float negative_slope;    // leaky family: x times this below zero (0: not a leaky)
  bool mixes_channels;     // normalize_channels family: each value needs its pixel's other channels
};

inline constexpr std::array<ActivationRow, static_cast<std::size_t>(Activation::Count)> kActivationRows = {{
    {Activation::Linear, "linear", 0.f, false},
    {Activation::Leaky, "leaky", 0.1f, false},
    {Activation::Relu, "relu", 0.f, false},
    {Activation::Relu6, "relu6", 0.f, false},
    {Activation::Logistic, "logistic", 0.f, false},
    {Activation::Tanh, "tanh", 0.f, false},
    {Activation::Elu, "elu", 0.f, false},
    {Activation::Selu, "selu", 0.f, false},
    {Activation::Gelu, "gelu", 0.f, false},
    {Activation::Swish, "swish", 0.f, false},
    {Activation::Mish, "mish", 0.f, false},
    {Activation::HardMish, "hard_mish", 0.f, false},
    {Activation::Relie, "relie", 0.01f, false},
    {Activation::Ramp, "ramp", 0.f, false},
    {Activation::Plse, "plse", 0.f, false},
    {Activation::Stair, "stair", 0.f, false},
    {Activation::Hardtan, "hardtan", 0.f, false},
    {Activation::Lhtan, "lhtan", 0.f, false},
    {Activation::Loggy, "loggy", 0.f, false},
    {Activation::Revleaky, "revleaky", 0.1f, false},  // Darknet computes it as leaky
    {Activation::NormalizeChannels, "normalize_channels", 0.f, true},
    {Activation::NormalizeChannelsSoftmax, "normalize_channels_softmax", 0.f, true},
    {Activation::NormalizeChannelsSoftmaxMaxval, "normalize_channels_softmax_maxval", 0.f, true},
}};

constexpr bool activation_rows_in_order() {
  for (std::size_t i = 0; i < kActivationRows.size(); ++i) {
    if (kActivationRows[i].activation != static_cast<Activation>(i) || kActivationRows[i].name.empty()) return false;
  }
  return true;
}
static_assert(activation_rows_in_order(), "kActivationRows: one row per Activation, in the enum's order");

constexpr const ActivationRow& activation_row(Activation activation) {
  return kActivationRows[static_cast<std::size_t>(activation)];
}

// Darknet's leaky slope, for code that names it.
inline constexpr float kLeakySlope = activation_row(Activation::Leaky).negative_slope;

}  // namespace dusk
