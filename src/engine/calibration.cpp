// int8 calibration: parameter hashes, the .calib text file, and the
// Calibrator that measures activation ranges (calibration.hpp).
#include "dusk/calibration.hpp"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "dusk/error.hpp"
#include "engine/split_activations.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

std::uint64_t fnv1a(std::uint64_t hash, const char* bytes, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    hash ^= static_cast<unsigned char>(bytes[i]);
    hash *= kFnvPrime;
  }
  return hash;
}

// |x| histogram on a log scale: 16 bins per octave from 2^-32 to 2^32.
constexpr int kBinsPerOctave = 16;
constexpr int kLowestOctave = -32;
constexpr int kBins = 64 * kBinsPerOctave;

int bin_of(float magnitude) {
  const double position = (std::log2(static_cast<double>(magnitude)) - kLowestOctave) * kBinsPerOctave;
  return std::clamp(static_cast<int>(std::floor(position)), 0, kBins - 1);
}

double bin_top(int bin) { return std::exp2(static_cast<double>(bin + 1) / kBinsPerOctave + kLowestOctave); }

std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, value);
  return text;
}

}  // namespace

std::uint64_t parameter_hash(const Graph& graph, const Weights& weights) {
  const std::vector<char> bytes = serialize_weights(graph, weights);
  const std::size_t begin = std::min(bytes.size(), weights.header.size_bytes());
  const std::size_t count =
      std::min(bytes.size() - begin, static_cast<std::size_t>(expected_floats(graph)) * sizeof(float));
  return fnv1a(kFnvOffset, bytes.data() + begin, count);
}

std::uint64_t parameter_hash(const Graph& graph, const std::string& weights_path) {
  std::ifstream file(weights_path, std::ios::binary);
  if (!file) throw Error(cat(weights_path, ": cannot open the weights file to check its calibration"));
  char header_bytes[12];
  if (!file.read(header_bytes, sizeof header_bytes)) throw Error(cat(weights_path, ": too short for a weights header"));
  WeightsHeader header;
  std::memcpy(&header.major, header_bytes, 4);
  std::memcpy(&header.minor, header_bytes + 4, 4);
  file.seekg(static_cast<std::streamoff>(header.size_bytes()));
  std::uint64_t left = static_cast<std::uint64_t>(expected_floats(graph)) * sizeof(float);
  std::uint64_t hash = kFnvOffset;
  std::vector<char> chunk(std::size_t{1} << 20);
  while (left > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
    file.read(chunk.data(), static_cast<std::streamsize>(want));
    const std::size_t got = static_cast<std::size_t>(file.gcount());
    hash = fnv1a(hash, chunk.data(), got);
    if (got < want) break;  // a short file: the reader reports it; the hash just differs
    left -= got;
  }
  return hash;
}

namespace {

// The shortest text that reads back as the same double (99.99, not 99.989999999999995).
std::string shortest(double value) {
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof text, value);
  return error == std::errc() ? std::string(text, end) : std::to_string(value);
}

}  // namespace

std::string format_calibration(const Calibration& c) {
  std::ostringstream out;
  out << "dusk-calibration " << kCalibrationVersion << "\n";
  out << "weights fnv1a64:" << hex64(c.weights_hash) << "\n";
  out << "input " << c.width << "x" << c.height << "\n";
  if (c.method == CalibrationMethod::Max) out << "method max\n";
  else out << "method percentile " << shortest(c.percentile) << "\n";
  out << "images " << c.images << "\n";
  out << "# layer, then the |x| that maps to int8's 127 (layer -1: the network input)\n";
  for (const auto& [layer, range] : c.ranges) {
    char line[64];
    std::snprintf(line, sizeof line, "%d %.9g\n", layer, static_cast<double>(range));
    out << line;
  }
  if (!c.conv_outputs.empty()) out << "# output, a convolution, then its lowest and highest value before the activation\n";
  for (const auto& [layer, interval] : c.conv_outputs) {
    char line[96];
    std::snprintf(line, sizeof line, "output %d %.9g %.9g\n", layer, static_cast<double>(interval.lowest),
                  static_cast<double>(interval.highest));
    out << line;
  }
  return out.str();
}

void write_calibration(const std::string& path, const Calibration& calibration) {
  const std::string text = format_calibration(calibration);
  write_file_atomic(path, text.data(), text.size());
}

Calibration read_calibration(const std::string& path) {
  // A real file has one short line per calibrated tensor: well under 1 MiB.
  const std::vector<char> bytes = read_file(path, std::size_t{16} << 20, "calibration");
  return parse_calibration(std::string(bytes.data(), bytes.size()), path);
}

Calibration parse_calibration(const std::string& text, const std::string& name) {
  std::istringstream file(text);
  Calibration c;
  std::string line;
  int number = 0;
  bool seen_version = false, seen_weights = false, seen_input = false, seen_method = false, seen_images = false;
  const auto fail = [&](const std::string& what) {
    throw Error(cat(name, ":", number, ": ", what, "; make the file again with dusk calibrate"));
  };
  while (std::getline(file, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (!seen_version) {
      int version = 0;
      if (key != "dusk-calibration" || !(fields >> version)) fail("not a dusk calibration file");
      if (version < kCalibrationVersion) {
        fail(cat("calibration format version ", version, " is older than the one this dusk reads (", kCalibrationVersion,
                 ": it adds each convolution's output interval)"));
      }
      if (version > kCalibrationVersion) {
        fail(cat("calibration format version ", version, " is newer than the one this dusk reads (", kCalibrationVersion,
                 "); use the dusk that made it, or"));
      }
      seen_version = true;
    } else if (key == "weights") {
      std::string value;
      fields >> value;
      const bool hex = value.size() == 24 && value.find_first_not_of("0123456789abcdefABCDEF", 8) == std::string::npos;
      if (value.rfind("fnv1a64:", 0) != 0 || !hex) fail("'weights' must be fnv1a64: and 16 hex digits");
      c.weights_hash = std::stoull(value.substr(8), nullptr, 16);
      seen_weights = true;
    } else if (key == "input") {
      char x = 0;
      if (!(fields >> c.width >> x >> c.height) || x != 'x' || c.width < 1 || c.height < 1) {
        fail("'input' must be WxH, both positive");
      }
      seen_input = true;
    } else if (key == "method") {
      std::string method;
      fields >> method;
      if (method == "max") {
        c.method = CalibrationMethod::Max;
      } else if (method == "percentile" && (fields >> c.percentile) && c.percentile > 0 && c.percentile <= 100) {
        c.method = CalibrationMethod::Percentile;
      } else {
        fail("'method' must be max or percentile P (0 < P <= 100)");
      }
      seen_method = true;
    } else if (key == "images") {
      if (!(fields >> c.images) || c.images < 1) fail("'images' must be a positive count");
      seen_images = true;
    } else if (key == "output") {
      int layer = 0;
      Calibration::Interval interval;
      std::string rest;
      if (!(fields >> layer >> interval.lowest >> interval.highest) || (fields >> rest) || layer < 0 ||
          !std::isfinite(interval.lowest) || !std::isfinite(interval.highest) || interval.lowest > interval.highest) {
        fail(cat("'", printable(line), "' is not 'output', a layer and its lowest and highest value"));
      }
      if (!c.conv_outputs.emplace(layer, interval).second) fail(cat("the output of layer ", layer, " is listed twice"));
    } else {
      int layer = 0;
      float range = 0;
      std::istringstream entry(line);
      std::string rest;
      // The scale (range / 127) and its inverse must both be ordinary floats.
      const auto usable = [](float r) { return std::isnormal(r / 127.0f) && std::isfinite(127.0f / r) && r > 0; };
      if (!(entry >> layer >> range) || (entry >> rest) || layer < -1 || !usable(range)) {
        fail(cat("'", printable(line), "' is not a layer and a positive range"));
      }
      if (!c.ranges.emplace(layer, range).second) fail(cat("layer ", layer, " is listed twice"));
    }
  }
  if (!seen_version) throw Error(cat(name, ": empty; make the calibration file with dusk calibrate"));
  for (const auto& [seen, key] : {std::pair{seen_weights, "weights"}, std::pair{seen_input, "input"},
                                  std::pair{seen_method, "method"}, std::pair{seen_images, "images"}}) {
    if (!seen) throw Error(cat(name, ": no '", key, "' line; make the file again with dusk calibrate"));
  }
  return c;
}

std::vector<int> calibrated_layers(const Graph& graph) {
  std::set<int> layers;
  for (const Layer& layer : graph.layers) {
    if (layer.kind == LayerKind::Convolutional) layers.insert(layer.inputs.front());
  }
  return {layers.begin(), layers.end()};
}

std::vector<bool> int8_convolutions(const Graph& graph, const Calibration& calibration) {
  std::vector<bool> int8(graph.layers.size(), false);
  for (const Layer& layer : graph.layers) {
    int8[static_cast<std::size_t>(layer.index)] = layer.kind == LayerKind::Convolutional &&
                                                  layer.as<ConvSpec>().groups == 1 &&
                                                  calibration.ranges.count(layer.inputs.front()) > 0;
  }
  for (const int head : graph.head_layers()) {
    for (const int producer : graph.layers[static_cast<std::size_t>(head)].inputs) {
      if (producer >= 0) int8[static_cast<std::size_t>(producer)] = false;
    }
  }
  return int8;
}

std::vector<float> int8_output_scales(const Graph& graph, const Calibration& calibration,
                                      const std::vector<bool>& float_outputs) {
  const std::vector<bool> int8 = int8_convolutions(graph, calibration);
  std::vector<std::vector<int>> readers(graph.layers.size());
  for (const Layer& reader : graph.layers) {
    for (const int producer : reader.inputs) {
      if (producer >= 0) readers[static_cast<std::size_t>(producer)].push_back(reader.index);
    }
  }
  std::vector<float> scales(graph.layers.size(), 0.0f);
  for (auto layer = graph.layers.rbegin(); layer != graph.layers.rend(); ++layer) {  // readers come later
    const std::size_t at = static_cast<std::size_t>(layer->index);
    if (at < float_outputs.size() && float_outputs[at]) continue;
    float scale = 0.0f;
    for (const int index : readers[at]) {
      const Layer& reader = graph.layers[static_cast<std::size_t>(index)];
      const bool max_pool = reader.kind == LayerKind::Maxpool && !reader.as<PoolSpec>().maxpool_depth;
      const bool nearest = reader.kind == LayerKind::Upsample && !reader.as<UpsampleSpec>().downsample &&
                           reader.as<UpsampleSpec>().scale == 1.0f;
      // A concatenation is a copy when its inputs share its scale; a channel slice keeps its source's.
      const bool route = reader.kind == LayerKind::Route &&
                         (reader.as<RouteSpec>().groups == 1 || reader.as<RouteSpec>().layers.size() == 1);
      const float wanted = int8[static_cast<std::size_t>(index)] ? calibration.ranges.at(layer->index) / 127.0f
                           : max_pool || nearest || route        ? scales[static_cast<std::size_t>(index)]
                                                                 : 0.0f;
      if (wanted == 0.0f) {
        scale = 0.0f;
        break;
      }
      scale = std::max(scale, wanted);
    }
    scales[at] = scale;
  }
  return scales;
}

namespace {

// One tensor's values as calibration sees them: the largest magnitude on
// each side and, for the percentile method, log histograms of each side.
struct Tally {
  float largest_positive = 0;
  float largest_negative = 0;  // a magnitude
  std::uint64_t zeros = 0;
  std::vector<std::uint64_t> positive, negative;

  explicit Tally(bool histograms)
      : positive(histograms ? kBins : 0, 0), negative(histograms ? kBins : 0, 0) {}

  void record(const std::vector<float>& values) {
    const bool histograms = !positive.empty();
    for (const float v : values) {
      if (v > 0) {
        largest_positive = std::max(largest_positive, v);
        if (histograms) ++positive[static_cast<std::size_t>(bin_of(v))];
      } else if (v < 0) {
        largest_negative = std::max(largest_negative, -v);
        if (histograms) ++negative[static_cast<std::size_t>(bin_of(-v))];
      } else {
        ++zeros;  // NaN too: it has no magnitude to measure
      }
    }
  }

  std::uint64_t total() const {
    std::uint64_t count = zeros;
    for (const std::uint64_t c : positive) count += c;
    for (const std::uint64_t c : negative) count += c;
    return count;
  }
};

// The smallest bin top that leaves at most `allowed` values of `histogram`
// above it, capped by the largest value seen.
double tail_bound(const std::vector<std::uint64_t>& histogram, double allowed, double largest) {
  double beyond = 0;
  for (int bin = kBins - 1; bin >= 0; --bin) {
    beyond += static_cast<double>(histogram[static_cast<std::size_t>(bin)]);
    if (beyond > allowed) return std::min(largest, bin_top(bin));
  }
  return 0;
}

}  // namespace

struct Calibrator::State {
  CalibrationMethod method;
  double percentile;
  Shape input;
  std::unique_ptr<Network> network;  // fp32, activations split off (split_activations)
  std::vector<int> keep;             // what a pass keeps: layers of the split graph
  std::vector<int> layers;           // calibrated_layers of the original graph, -1 first when present
  std::vector<int> convolutions;     // every convolution of the original graph
  std::vector<int> layer_at, conv_at;  // their positions in `keep` (-1: the network input)
  std::vector<Tally> ranges, outputs;
  int images = 0;

  int kept(int split_layer) {
    if (split_layer < 0) return -1;
    for (std::size_t at = 0; at < keep.size(); ++at) {
      if (keep[at] == split_layer) return static_cast<int>(at);
    }
    keep.push_back(split_layer);
    return static_cast<int>(keep.size()) - 1;
  }

  // The magnitude that maps to 127: the largest, or the percentile of |x| over all values.
  float range(const Tally& t) const {
    double range = std::max(t.largest_positive, t.largest_negative);
    if (method == CalibrationMethod::Percentile) {
      std::vector<std::uint64_t> magnitudes(t.positive);
      for (std::size_t bin = 0; bin < magnitudes.size(); ++bin) magnitudes[bin] += t.negative[bin];
      range = tail_bound(magnitudes, allowed(t), range);
    }
    return range > 0 ? static_cast<float>(range) : 1.0f;  // an all-zero tensor: any scale is exact
  }

  Calibration::Interval interval(const Tally& t) const {
    double highest = t.largest_positive, lowest = t.largest_negative;
    if (method == CalibrationMethod::Percentile) {
      highest = tail_bound(t.positive, allowed(t), highest);
      lowest = tail_bound(t.negative, allowed(t), lowest);
    }
    return {static_cast<float>(-lowest), static_cast<float>(highest)};
  }

  // Values the percentile lets clip, as a count.
  double allowed(const Tally& t) const { return (1.0 - percentile / 100.0) * static_cast<double>(t.total()); }
};

Calibrator::Calibrator(const Graph& graph, const Weights& weights, NetworkOptions options, CalibrationMethod method,
                       double percentile)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.method = method;
  s.percentile = percentile;
  s.input = graph.input;
  SplitActivations split = split_activations(graph, weights);
  options.precision = Precision::Fp32;  // the ranges of fp32 activations
  options.calibration = nullptr;
  s.network = std::make_unique<Network>(std::move(split.graph), std::move(split.weights), options);
  const bool histograms = method == CalibrationMethod::Percentile;
  s.layers = calibrated_layers(graph);
  for (const int layer : s.layers) {
    s.layer_at.push_back(layer < 0 ? -1 : s.kept(split.output_of[static_cast<std::size_t>(layer)]));
    s.ranges.emplace_back(histograms);
  }
  for (const Layer& layer : graph.layers) {
    if (layer.kind != LayerKind::Convolutional) continue;
    s.convolutions.push_back(layer.index);
    s.conv_at.push_back(s.kept(split.raw_output_of[static_cast<std::size_t>(layer.index)]));
    s.outputs.emplace_back(histograms);
  }
}

Calibrator::~Calibrator() = default;

Shape Calibrator::input_shape() const { return state_->input; }

void Calibrator::add(const Tensor& input) {
  State& s = *state_;
  const std::vector<Tensor> kept = s.keep.empty() ? std::vector<Tensor>{} : s.network->forward(input, s.keep);
  const auto values = [&](int at) -> const std::vector<float>& {
    return at < 0 ? input.data : kept[static_cast<std::size_t>(at)].data;
  };
  for (std::size_t i = 0; i < s.layers.size(); ++i) s.ranges[i].record(values(s.layer_at[i]));
  for (std::size_t i = 0; i < s.convolutions.size(); ++i) s.outputs[i].record(values(s.conv_at[i]));
  ++s.images;
}

Calibration Calibrator::result(std::uint64_t weights_hash) const {
  const State& s = *state_;
  if (s.images == 0) throw Error("calibration needs at least one image");
  Calibration c;
  c.weights_hash = weights_hash;
  c.width = s.input.w;
  c.height = s.input.h;
  c.method = s.method;
  c.percentile = s.percentile;
  c.images = s.images;
  for (std::size_t i = 0; i < s.layers.size(); ++i) c.ranges[s.layers[i]] = s.range(s.ranges[i]);
  for (std::size_t i = 0; i < s.convolutions.size(); ++i) c.conv_outputs[s.convolutions[i]] = s.interval(s.outputs[i]);
  return c;
}

}  // namespace dusk
