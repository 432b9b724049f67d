#pragma once
// int8 calibration: the range of every tensor an int8 convolution reads,
// measured by running the network in fp32 over sample images, and the file
// that carries it (`dusk calibrate`, NetworkOptions::calibration).
//
// The file is text:
//   dusk-calibration 1
//   weights fnv1a64:<16 hex digits>   (parameter_hash of the weights it was made with)
//   input <W>x<H>
//   method max | method percentile <P>
//   images <N>
//   <layer> <range>                   (one line per tensor; layer -1 is the network input)
//   output <layer> <lowest> <highest> (one line per convolution: its output before the activation)
// A tensor's int8 scale is range / 127 (symmetric, per tensor); a kernel's is
// its output channel's largest |w| / 127, computed at load. The engine reads
// the ranges; `dusk export --int8` also quantizes each int8 convolution's
// result before its activation, as ONNX Runtime's integer kernels need, and
// takes that interval from the output lines (version 2; version 1 files
// lack them and are refused).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dusk/network.hpp"

namespace dusk {

inline constexpr int kCalibrationVersion = 2;

enum class CalibrationMethod {
  Max,         // the largest |x| seen: nothing clips, small values get coarse steps
  Percentile,  // that percentile of |x| over all values seen: the rare outliers clip
};

struct Calibration {
  std::uint64_t weights_hash = 0;
  int width = 0;
  int height = 0;
  CalibrationMethod method = CalibrationMethod::Max;
  double percentile = 99.99;
  int images = 0;
  std::map<int, float> ranges;  // layer index (-1: the network input) -> |x| that maps to 127
  struct Interval {
    float lowest = 0;
    float highest = 0;
  };
  std::map<int, Interval> conv_outputs;  // convolution layer -> its output before the activation
};

// FNV-1a (64-bit) over the parameter bytes as a .weights file stores them
// (everything after the header that the graph reads): the same for a file
// and for the Weights read from it, and different for any other weights.
std::uint64_t parameter_hash(const Graph& graph, const Weights& weights);
std::uint64_t parameter_hash(const Graph& graph, const std::string& weights_path);

// Throws dusk::Error naming the file and line on anything malformed
// (files over 16 MiB too). parse_calibration reads the text itself, `name`
// standing for the file in messages.
Calibration read_calibration(const std::string& path);
Calibration parse_calibration(const std::string& text, const std::string& name);
// Written whole (temporary file, then rename) or not at all.
void write_calibration(const std::string& path, const Calibration& calibration);
std::string format_calibration(const Calibration& calibration);

// The layers whose outputs an int8 convolution of `graph` reads (-1: the input).
std::vector<int> calibrated_layers(const Graph& graph);

// Per layer: whether int8 runs it as an int8 convolution. Not grouped
// (depthwise) convolutions, whose few terms per output have no sum to average
// the rounding out, nor those that feed a detection head, nor one whose input
// `calibration` has no range for. The engine and the int8 ONNX export both ask this.
std::vector<bool> int8_convolutions(const Graph& graph, const Calibration& calibration);

// Per layer: the int8 scale at which its output may travel as 8-bit data, or
// 0 where it stays float. A layer qualifies when every layer that reads it is
// an int8 convolution, or a max pool, nearest upsample, concatenation or
// channel slice that qualifies itself (these commute with quantization), and
// it is not in `float_outputs` (outputs the caller wants as floats; empty: none).
// Its scale is the largest any reader quantizes with: clipping before a max
// or a copy is the same as after, and a reader wanting a smaller scale requantizes.
std::vector<float> int8_output_scales(const Graph& graph, const Calibration& calibration,
                                      const std::vector<bool>& float_outputs = {});

// Collects ranges over any number of inputs, then gives the Calibration.
// The same inputs in the same order give the same file, bit for bit. It runs
// `graph` and `weights` in fp32 on `options`' backend and threads, each
// convolution's activation split off so that its output before it is seen too.
class Calibrator {
 public:
  Calibrator(const Graph& graph, const Weights& weights, NetworkOptions options, CalibrationMethod method,
             double percentile = 99.99);
  ~Calibrator();
  Shape input_shape() const;
  void add(const Tensor& input);
  Calibration result(std::uint64_t weights_hash) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dusk
