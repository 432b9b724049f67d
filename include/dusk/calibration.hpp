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
// A tensor's int8 scale is range / 127 (symmetric, per tensor); a kernel's is
// its output channel's largest |w| / 127, computed at load.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dusk/network.hpp"

namespace dusk {

inline constexpr int kCalibrationVersion = 1;

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

// Collects ranges over any number of inputs, then gives the Calibration.
// The same inputs in the same order give the same file, bit for bit.
class Calibrator {
 public:
  Calibrator(const Network& network, CalibrationMethod method, double percentile = 99.99);
  ~Calibrator();
  void add(const Tensor& input);
  Calibration result(std::uint64_t weights_hash) const;

 private:
  struct State;
  const Network& network_;
  std::unique_ptr<State> state_;
};

}  // namespace dusk
