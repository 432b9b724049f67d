#pragma once
// The int8 half of the ONNX export: QuantizeLinear/DequantizeLinear pairs
// (QDQ) around the convolutions dusk runs in int8, with dusk's scales, so
// that ONNX Runtime fuses them into its integer kernels (QLinearConv).
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dusk/calibration.hpp"
#include "engine/fold.hpp"
#include "export/onnx_builder.hpp"

namespace dusk::onnx_export {

class Int8Quantizer {
 public:
  // Throws dusk::Error when `calibration` lacks what the export needs.
  Int8Quantizer(const Graph& graph, const Calibration& calibration, GraphBuilder& builder);

  bool runs_int8(int layer) const { return int8_[static_cast<std::size_t>(layer)]; }

  // Convolution `layer` (runs_int8) on `x`: quantized input, int8 kernels and
  // int32 biases, the result quantized before `activate` and, where dusk
  // keeps this output in int8, after. `conv_attributes` as for a float Conv.
  std::string convolution(const Layer& layer, const FoldedLayer& folded, const std::string& x,
                          const std::vector<Attribute>& conv_attributes,
                          const std::function<std::string(const std::string&)>& activate);

 private:
  // x rounded to the uint8 grid (scale, zero point) and back; x itself when it already lies on it.
  std::string fake_quantize(const std::string& x, float scale, int zero_point, const std::string& hint);

  const Graph& graph_;
  const Calibration& calibration_;
  GraphBuilder& b_;
  std::vector<bool> int8_;
  std::vector<float> output_scale_;  // int8_output_scales: 0 where dusk keeps the output float
  std::map<std::string, std::pair<float, int>> grid_;  // a DequantizeLinear's output -> its scale and zero point
};

}  // namespace dusk::onnx_export
