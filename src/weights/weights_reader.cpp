// Reading a .weights file against a graph: header, then each layer's blocks.
// The file must fit the graph exactly; nothing is trusted before it is checked.
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

// A short file usually means the weights were trained with another cfg; the
// commonest case is a head conv whose filters were changed for new classes.
std::string likely_cause(const Graph& graph, int layer_index) {
  const Layer& layer = graph.layers[static_cast<std::size_t>(layer_index)];
  for (const int head : graph.head_layers()) {
    if (graph.layers[static_cast<std::size_t>(head)].inputs.front() == layer.index) {
      return cat("this conv feeds the detection head ", graph.describe(head),
                 ", so its filters= or the head's classes= likely differ from the cfg the weights were trained with");
    }
  }
  return "the weights were probably trained with another cfg (different layers, filters or classes)";
}

}  // namespace

Weights parse_weights(const std::vector<char>& bytes, const Graph& graph, const std::string& source) {
  Weights weights;
  weights.header = parse_header(bytes, source);
  const std::uint64_t file_size = bytes.size();
  const std::uint64_t expected = expected_file_bytes(graph, weights.header);

  weights.layers.resize(graph.layers.size());
  std::uint64_t offset = weights.header.size_bytes();
  for (const Layer& layer : graph.layers) {
    LayerParams& params = weights.layers[static_cast<std::size_t>(layer.index)];
    params.offset = offset;
    const std::uint64_t layer_bytes = static_cast<std::uint64_t>(layer.param_count) * sizeof(float);
    if (offset + layer_bytes > file_size) {
      const std::uint64_t missing = (offset + layer_bytes - file_size + sizeof(float) - 1) / sizeof(float);
      throw Error(cat(source, ": short weights file: ", graph.describe(layer.index), " needs bytes ", offset, "..",
                      offset + layer_bytes, " but the file ends at byte ", file_size, " (", missing, " of its ",
                      layer.param_count, " floats missing; the cfg needs ", expected, " bytes in all); ",
                      likely_cause(graph, layer.index)));
    }
    for (const BlockSize& block : param_layout(layer)) {
      std::vector<float>& values = block_of(params, block.block);
      values.resize(static_cast<std::size_t>(block.floats));
      std::memcpy(values.data(), bytes.data() + offset, values.size() * sizeof(float));
      offset += values.size() * sizeof(float);
    }
    params.bytes = layer_bytes;
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    if (stored_transposed(layer, weights.header, rows, cols)) params.weights = transposed(params.weights, rows, cols);
  }
  weights.trailing_bytes = file_size - offset;
  if (weights.trailing_bytes > 0) {
    weights.warnings.push_back(cat(source, ": ", weights.trailing_bytes, " bytes after the last layer's parameters (byte ",
                                   offset, " on) are ignored; the weights may belong to a larger cfg"));
  }
  return weights;
}

Weights read_weights(const std::string& path, const Graph& graph) {
  const std::size_t size = file_size_or_throw(path, "weights");
  const std::uint64_t limit = expected_file_bytes(graph) + kMaxTrailingBytes;
  if (size > limit) {
    throw Error(cat(path, ": weights file is ", size, " bytes but the cfg needs only ", expected_file_bytes(graph),
                    "; it does not belong to ", graph.source));
  }
  return parse_weights(read_file(path, size, "weights"), graph, path);
}

}  // namespace dusk
