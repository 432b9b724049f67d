#pragma once
// Darknet's flat .weights file: a header, then each layer's float blocks in
// graph order. Reading checks the file against the graph before trusting it.
#include <cstdint>
#include <string>
#include <vector>

#include "dusk/graph.hpp"

namespace dusk {

struct WeightsHeader {
  std::int32_t major = 0;
  std::int32_t minor = 2;
  std::int32_t revision = 5;
  std::uint64_t seen = 0;

  bool seen_is_64bit() const;      // major*10+minor >= 2 and both < 1000
  bool transposed() const;         // connected weights stored transposed
  std::size_t size_bytes() const;  // 20 or 16
};

// One layer's parameters as stored (BatchNorm not folded). Blocks a layer
// does not have stay empty.
struct LayerParams {
  std::vector<float> biases;    // conv, connected: one per output; batchnorm: per channel
  std::vector<float> scales;    // BatchNorm gamma
  std::vector<float> mean;      // BatchNorm rolling mean
  std::vector<float> variance;  // BatchNorm rolling variance
  std::vector<float> weights;   // conv kernel, connected matrix, shortcut weights
  std::uint64_t offset = 0;     // byte offset of the first block in the file
  std::uint64_t bytes = 0;      // bytes the layer occupies in the file

  std::vector<float>& block(ParamBlock which);
  const std::vector<float>& block(ParamBlock which) const;
};

// "biases", "scales", "mean", "variance", "weights".
const char* block_name(ParamBlock block);

struct Weights {
  WeightsHeader header;
  std::vector<LayerParams> layers;  // one per graph layer
  std::uint64_t trailing_bytes = 0;  // bytes after the last layer's blocks
  std::vector<std::string> warnings;
};

std::int64_t expected_floats(const Graph& graph);
std::uint64_t expected_file_bytes(const Graph& graph, const WeightsHeader& header = {});

// How a weights file lines up with a graph.
struct WeightsFit {
  std::uint64_t file_bytes = 0;
  std::uint64_t expected_bytes = 0;   // header + every layer's floats
  int first_incomplete_layer = -1;    // the first layer the file runs out in; -1 if none
  std::int64_t missing_floats = 0;    // floats the file lacks in all
  std::uint64_t trailing_bytes = 0;   // bytes after the last layer
  bool fits() const { return first_incomplete_layer < 0 && trailing_bytes == 0; }
};

// Reads as much as the file holds: layers it covers whole are filled, the
// rest stay empty, and `fit` says where it ran out. Throws only when not even
// the header is there.
Weights parse_weights_partial(const std::vector<char>& bytes, const Graph& graph, const std::string& source,
                              WeightsFit& fit);
Weights read_weights_partial(const std::string& path, const Graph& graph, WeightsFit& fit);

// The likely reason a file does not fit: another class count (with the
// classes= and filters= that would fit), a backbone-only file that ends at a
// layer boundary, or weights from another cfg.
std::string diagnose_misfit(const Graph& graph, const WeightsFit& fit);

// inspect's verdict on a file: status "fits", "short" or "trailing", and the
// one-line message (where it runs out, the likely cause).
struct FitVerdict {
  std::string status;
  std::string message;
};
FitVerdict describe_fit(const Graph& graph, const WeightsFit& fit);

// Reads the whole file and checks that it fits the graph exactly: a short
// file throws dusk::Error naming the layer that runs out; trailing bytes add a
// warning. A file bigger than the graph allows by more than kMaxTrailingBytes
// is refused before it is read.
Weights read_weights(const std::string& path, const Graph& graph);
Weights parse_weights(const std::vector<char>& bytes, const Graph& graph, const std::string& source);

// Throws dusk::Error unless the blocks of the first `layer_count` layers
// (all when negative) have the sizes the graph needs.
void check_weights_fit(const Graph& graph, const Weights& weights, int layer_count = -1);

// Writes header and blocks in Darknet's order, to a temporary file renamed
// into place, so the output is whole or absent.
// With `layer_count` >= 0 only the first layer_count layers are written, as
// Darknet's `partial` does.
void write_weights(const std::string& path, const Graph& graph, const Weights& weights, int layer_count = -1);
std::vector<char> serialize_weights(const Graph& graph, const Weights& weights, int layer_count = -1);

// Seeded random parameters shaped for the graph (refused above
// kMaxRandomWeightFloats, since nothing bounds a cfg's parameter count): kernels with variance
// 1/fan_in, BatchNorm variance in [0.5, 2], scales in [0.5, 1.5], means and
// biases small. The same seed always gives the same floats. Signals stay
// tame (|values| ~0.1..10 at the heads of every public cfg) and the networks
// stay far from chaotic, so two correct engines agree to ~1e-4.
Weights random_weights(const Graph& graph, std::uint64_t seed);


struct BlockStats {
  float min = 0;
  float mean = 0;
  float max = 0;
  std::int64_t count = 0;  // finite values summarised
};

// What `dusk inspect` reports about one layer's parameters.
struct LayerStats {
  bool batchnorm = false;
  BlockStats scales;
  BlockStats variance;
  std::int64_t near_zero_variances = 0;  // variance below kNearZeroVariance
  std::int64_t dead_channels = 0;        // |scale| below kDeadScale: the channel outputs a constant
  std::int64_t zero_filters = 0;         // convolution kernels that are all zero
  std::int64_t non_finite = 0;           // NaN or Inf in any block
};
LayerStats layer_stats(const Layer& layer, const LayerParams& params);

inline constexpr float kNearZeroVariance = 1e-5f;  // the BatchNorm epsilon: below it eps dominates
inline constexpr float kDeadScale = 1e-6f;

inline constexpr std::int64_t kMaxRandomWeightFloats = std::int64_t{1} << 30;
inline constexpr std::uint64_t kMaxTrailingBytes = std::uint64_t{1} << 30;

}  // namespace dusk
