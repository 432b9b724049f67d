// QDQ lowering of an int8 convolution (onnx_int8.hpp).
#include "export/onnx_int8.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk::onnx_export {

namespace {

using I64 = std::vector<std::int64_t>;

// dusk's symmetric int8 grid (-128..127 times the scale) is uint8 with zero point 128.
constexpr int kSymmetricZeroPoint = 128;

// The uint8 grid covering [lowest, highest] and zero.
std::pair<float, int> asymmetric_grid(const Calibration::Interval& interval) {
  const double lowest = std::min(0.0, static_cast<double>(interval.lowest));
  const double highest = std::max(0.0, static_cast<double>(interval.highest));
  const float scale = static_cast<float>((highest - lowest) / 255.0);
  if (!std::isnormal(scale)) return {1.0f, 0};  // all zeros: any grid is exact
  const int zero_point = static_cast<int>(std::clamp(std::lround(-lowest / scale), 0L, 255L));
  return {scale, zero_point};
}

}  // namespace

Int8Quantizer::Int8Quantizer(const Graph& graph, const Calibration& calibration, GraphBuilder& builder)
    : graph_(graph), calibration_(calibration), b_(builder), int8_(int8_convolutions(graph, calibration)),
      output_scale_(int8_output_scales(graph, calibration)) {
  for (const Layer& layer : graph.layers) {
    if (runs_int8(layer.index) && calibration.conv_outputs.count(layer.index) == 0) {
      throw Error(cat("the calibration has no output interval for ", graph.describe(layer.index),
                      ", which an int8 export needs; make it again with dusk calibrate for this cfg"));
    }
  }
}

std::string Int8Quantizer::fake_quantize(const std::string& x, float scale, int zero_point, const std::string& hint) {
  const auto known = grid_.find(x);
  if (known != grid_.end() && known->second == std::pair{scale, zero_point}) return x;
  const std::string s = b_.floats32(hint + "_scale", {scale}, {});
  const std::uint8_t zero = static_cast<std::uint8_t>(zero_point);
  const std::string z = b_.raw(hint + "_zero", onnx::TensorProto::UINT8, &zero, 1, {});
  const std::string q = b_.node("QuantizeLinear", {x, s, z}, hint + "_q");
  const std::string dq = b_.node("DequantizeLinear", {q, s, z}, hint + "_dq");
  grid_[dq] = {scale, zero_point};
  return dq;
}

std::string Int8Quantizer::convolution(const Layer& layer, const FoldedLayer& folded, const std::string& x,
                                       const std::vector<Attribute>& conv_attributes,
                                       const std::function<std::string(const std::string&)>& activate) {
  const ConvSpec& spec = layer.as<ConvSpec>();
  const std::string tag = cat("l", layer.index, "_convolutional");
  const float input_scale = calibration_.ranges.at(layer.inputs.front()) / 127.0f;
  const std::string input = fake_quantize(x, input_scale, kSymmetricZeroPoint, tag + "_in");

  // Kernels: per output channel, the largest |w| maps to 127 (as dusk's kernels).
  const std::size_t channels = static_cast<std::size_t>(spec.filters);
  const std::size_t per_channel = folded.weights.size() / channels;
  std::vector<float> weight_scales(channels, 1.0f), bias_scales(channels);
  std::vector<std::int8_t> kernel(folded.weights.size());
  std::vector<std::int32_t> biases(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    const auto begin = folded.weights.begin() + static_cast<std::ptrdiff_t>(c * per_channel);
    float largest = 0;
    for (auto w = begin; w != begin + static_cast<std::ptrdiff_t>(per_channel); ++w) largest = std::max(largest, std::fabs(*w));
    if (largest > 0) weight_scales[c] = largest / 127.0f;
    for (std::size_t i = 0; i < per_channel; ++i) {
      const float q = std::nearbyint(folded.weights[c * per_channel + i] / weight_scales[c]);
      kernel[c * per_channel + i] = static_cast<std::int8_t>(std::clamp(q, -127.0f, 127.0f));
    }
    // The bias in units of input scale x kernel scale, as QLinearConv adds it to its int32 sums.
    bias_scales[c] = input_scale * weight_scales[c];
    const double steps = std::nearbyint(static_cast<double>(folded.biases[c]) / bias_scales[c]);
    biases[c] = static_cast<std::int32_t>(std::clamp(steps, static_cast<double>(std::numeric_limits<std::int32_t>::min()),
                                                     static_cast<double>(std::numeric_limits<std::int32_t>::max())));
  }
  const I64 kernel_dims = {spec.filters, layer.in.c / spec.groups, spec.size, spec.size};
  const I64 per_filter = {spec.filters};
  const std::vector<std::int8_t> kernel_zeros(channels, 0);
  const std::vector<std::int32_t> bias_zeros(channels, 0);
  const std::vector<Attribute> per_axis = {attr("axis", std::int64_t{0})};
  const std::string w = b_.node(
      "DequantizeLinear",
      {b_.raw(tag + "_w", onnx::TensorProto::INT8, kernel.data(), kernel.size(), kernel_dims),
       b_.floats32(tag + "_w_scale", weight_scales, per_filter),
       b_.raw(tag + "_w_zero", onnx::TensorProto::INT8, kernel_zeros.data(), kernel_zeros.size(), per_filter)},
      tag + "_w_dq", per_axis);
  const std::string bias = b_.node(
      "DequantizeLinear",
      {b_.raw(tag + "_b", onnx::TensorProto::INT32, biases.data(), biases.size() * sizeof(std::int32_t), per_filter),
       b_.floats32(tag + "_b_scale", bias_scales, per_filter),
       b_.raw(tag + "_b_zero", onnx::TensorProto::INT32, bias_zeros.data(), bias_zeros.size() * sizeof(std::int32_t),
              per_filter)},
      tag + "_b_dq", per_axis);
  const std::string sums = b_.node("Conv", {input, w, bias}, tag, conv_attributes);

  // ONNX Runtime runs QLinearConv only where a QuantizeLinear follows the
  // Conv: a linear output that dusk keeps in int8 goes straight to its grid,
  // any other is quantized over its calibrated interval before the activation.
  const float kept_scale = output_scale_[static_cast<std::size_t>(layer.index)];
  if (spec.activation == Activation::Linear && kept_scale > 0) {
    return fake_quantize(sums, kept_scale, kSymmetricZeroPoint, tag + "_out");
  }
  const auto [scale, zero_point] = asymmetric_grid(calibration_.conv_outputs.at(layer.index));
  const std::string activated = activate(fake_quantize(sums, scale, zero_point, tag + "_sums"));
  return kept_scale > 0 ? fake_quantize(activated, kept_scale, kSymmetricZeroPoint, tag + "_out") : activated;
}

}  // namespace dusk::onnx_export
