// Reading a .weights file against a graph: header, then each layer's blocks.
// Nothing is trusted before it is checked against the graph.
#include <cstring>

#include "dusk/error.hpp"
#include "util/files.hpp"
#include "util/text.hpp"
#include "weights/blocks.hpp"

namespace dusk {

namespace {

template <class T>
T read_scalar(const std::vector<char>& bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

WeightsHeader parse_header(const std::vector<char>& bytes, const std::string& source) {
  WeightsHeader header;
  if (bytes.size() < 12) {
    throw Error(cat(source, ": ", bytes.size(), " bytes is too short for a Darknet weights header (16 or 20 bytes); ",
                    "the file is truncated or not a .weights file"));
  }
  header.major = read_scalar<std::int32_t>(bytes, 0);
  header.minor = read_scalar<std::int32_t>(bytes, 4);
  header.revision = read_scalar<std::int32_t>(bytes, 8);
  if (bytes.size() < header.size_bytes()) {
    throw Error(cat(source, ": ", bytes.size(), " bytes is too short for a Darknet weights header (version ",
                    header.major, ".", header.minor, " needs ", header.size_bytes(), " bytes)"));
  }
  header.seen = header.seen_is_64bit() ? read_scalar<std::uint64_t>(bytes, 12) : read_scalar<std::uint32_t>(bytes, 12);
  return header;
}

}  // namespace

Weights parse_weights_partial(const std::vector<char>& bytes, const Graph& graph, const std::string& source,
                              WeightsFit& fit) {
  Weights weights;
  weights.header = parse_header(bytes, source);
  fit = WeightsFit{};
  fit.file_bytes = bytes.size();
  fit.expected_bytes = expected_file_bytes(graph, weights.header);

  weights.layers.resize(graph.layers.size());
  std::uint64_t offset = weights.header.size_bytes();
  for (const Layer& layer : graph.layers) {
    LayerParams& params = weights.layers[static_cast<std::size_t>(layer.index)];
    params.offset = offset;
    params.bytes = static_cast<std::uint64_t>(layer.param_count) * sizeof(float);
    if (fit.first_incomplete_layer >= 0) continue;
    if (offset + params.bytes > fit.file_bytes) {
      fit.first_incomplete_layer = layer.index;
      fit.missing_floats = static_cast<std::int64_t>((fit.expected_bytes - fit.file_bytes + 3) / sizeof(float));
      continue;
    }
    for (const BlockSize& block : param_layout(layer)) {
      std::vector<float>& values = block_of(params, block.block);
      values.resize(static_cast<std::size_t>(block.floats));
      std::memcpy(values.data(), bytes.data() + offset, values.size() * sizeof(float));
      offset += values.size() * sizeof(float);
    }
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    if (stored_transposed(layer, weights.header, rows, cols)) params.weights = transposed(params.weights, rows, cols);
  }
  if (fit.first_incomplete_layer < 0) {
    fit.trailing_bytes = fit.file_bytes - offset;
    weights.trailing_bytes = fit.trailing_bytes;
  }
  return weights;
}

Weights parse_weights(const std::vector<char>& bytes, const Graph& graph, const std::string& source) {
  WeightsFit fit;
  Weights weights = parse_weights_partial(bytes, graph, source, fit);
  if (fit.first_incomplete_layer >= 0) {
    const Layer& layer = graph.layers[static_cast<std::size_t>(fit.first_incomplete_layer)];
    const LayerParams& params = weights.layers[static_cast<std::size_t>(layer.index)];
    const std::uint64_t end = params.offset + params.bytes;
    const std::uint64_t missing = (end - fit.file_bytes + sizeof(float) - 1) / sizeof(float);
    throw Error(cat(source, ": short weights file: ", graph.describe(layer.index), " needs bytes ", params.offset, "..",
                    end, " but the file ends at byte ", fit.file_bytes, " (", missing, " of its ", layer.param_count,
                    " floats missing; the cfg needs ", fit.expected_bytes, " bytes in all); ",
                    diagnose_misfit(graph, fit)));
  }
  if (fit.trailing_bytes > 0) {
    weights.warnings.push_back(cat(source, ": ", fit.trailing_bytes, " bytes after the last layer's parameters (byte ",
                                   fit.file_bytes - fit.trailing_bytes, " on) are ignored; ",
                                   diagnose_misfit(graph, fit)));
  }
  return weights;
}

namespace {

std::vector<char> read_bounded(const std::string& path, const Graph& graph) {
  const std::size_t size = file_size_or_throw(path, "weights");
  const std::uint64_t limit = expected_file_bytes(graph) + kMaxTrailingBytes;
  if (size > limit) {
    throw Error(cat(path, ": weights file is ", size, " bytes but the cfg needs only ", expected_file_bytes(graph),
                    "; it does not belong to ", graph.source));
  }
  return read_file(path, size, "weights");
}

}  // namespace

Weights read_weights(const std::string& path, const Graph& graph) {
  return parse_weights(read_bounded(path, graph), graph, path);
}

Weights read_weights_partial(const std::string& path, const Graph& graph, WeightsFit& fit) {
  return parse_weights_partial(read_bounded(path, graph), graph, path, fit);
}

}  // namespace dusk
