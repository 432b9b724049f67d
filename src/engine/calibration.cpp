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
#include "util/files.hpp"
#include "util/text.hpp"

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
      if (version != kCalibrationVersion) {
        fail(cat("calibration format version ", version, " is not the one this dusk reads (", kCalibrationVersion, ")"));
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

struct Calibrator::State {
  CalibrationMethod method;
  double percentile;
  std::vector<int> layers;      // calibrated_layers, -1 first when present
  std::vector<float> largest;   // per entry of `layers`
  std::vector<std::vector<std::uint64_t>> histograms;
  std::vector<std::uint64_t> zeros;
  int images = 0;

  void record(std::size_t at, const std::vector<float>& values) {
    for (const float v : values) {
      const float magnitude = std::fabs(v);
      if (!(magnitude > 0)) {
        ++zeros[at];
        continue;
      }
      largest[at] = std::max(largest[at], magnitude);
      if (method == CalibrationMethod::Percentile) ++histograms[at][static_cast<std::size_t>(bin_of(magnitude))];
    }
  }

  float range(std::size_t at) const {
    double range = largest[at];
    if (method == CalibrationMethod::Percentile) {
      std::uint64_t total = zeros[at];
      for (const std::uint64_t count : histograms[at]) total += count;
      const double wanted = percentile / 100.0 * static_cast<double>(total);
      double seen = static_cast<double>(zeros[at]);
      for (int bin = 0; bin < kBins && seen < wanted; ++bin) {
        seen += static_cast<double>(histograms[at][static_cast<std::size_t>(bin)]);
        if (seen >= wanted) range = std::min(range, bin_top(bin));
      }
    }
    return range > 0 ? static_cast<float>(range) : 1.0f;  // an all-zero tensor: any scale is exact
  }
};

Calibrator::Calibrator(const Network& network, CalibrationMethod method, double percentile)
    : network_(network), state_(std::make_unique<State>()) {
  state_->method = method;
  state_->percentile = percentile;
  state_->layers = calibrated_layers(network.graph());
  const std::size_t n = state_->layers.size();
  state_->largest.assign(n, 0.f);
  state_->zeros.assign(n, 0);
  state_->histograms.assign(n, std::vector<std::uint64_t>(method == CalibrationMethod::Percentile ? kBins : 0, 0));
}

Calibrator::~Calibrator() = default;

void Calibrator::add(const Tensor& input) {
  std::vector<int> keep;
  for (const int layer : state_->layers) {
    if (layer >= 0) keep.push_back(layer);
  }
  const std::vector<Tensor> outputs = keep.empty() ? std::vector<Tensor>{} : network_.forward(input, keep);
  std::size_t next_output = 0;
  for (std::size_t at = 0; at < state_->layers.size(); ++at) {
    state_->record(at, state_->layers[at] < 0 ? input.data : outputs[next_output++].data);
  }
  ++state_->images;
}

Calibration Calibrator::result(std::uint64_t weights_hash) const {
  if (state_->images == 0) throw Error("calibration needs at least one image");
  Calibration c;
  c.weights_hash = weights_hash;
  c.width = network_.input_shape().w;
  c.height = network_.input_shape().h;
  c.method = state_->method;
  c.percentile = state_->percentile;
  c.images = state_->images;
  for (std::size_t at = 0; at < state_->layers.size(); ++at) c.ranges[state_->layers[at]] = state_->range(at);
  return c;
}

}  // namespace dusk
