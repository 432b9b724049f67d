// Reading a .weights file against a graph: header, then each layer's blocks.
// Nothing is trusted before it is checked against the graph. Files are read
// block by block straight into the layers' arrays, so a 250 MB file costs
// 250 MB of memory once, not twice.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dusk/error.hpp"
#include "dusk/files.hpp"
#include "util/memory.hpp"
#include "dusk/text.hpp"
#include "weights/blocks.hpp"
#include "weights/deferred_kernels.hpp"

namespace dusk {

namespace {

// Where the bytes come from: memory (tests, fuzzing) or a file.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::uint64_t size() const = 0;
  virtual void read(std::uint64_t offset, void* out, std::size_t bytes) = 0;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(const std::vector<char>& bytes) : bytes_(bytes) {}
  std::uint64_t size() const override { return bytes_.size(); }
  void read(std::uint64_t offset, void* out, std::size_t bytes) override {
    std::memcpy(out, bytes_.data() + offset, bytes);
  }

 private:
  const std::vector<char>& bytes_;
};

class FileSource : public ByteSource {
 public:
  FileSource(const std::string& path, std::uint64_t size) : path_(path), size_(size) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(cat("cannot open weights file ", path, ": ", std::strerror(errno)));
  }
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t offset, void* out, std::size_t bytes) override {
    auto* cursor = static_cast<char*>(out);
    while (bytes > 0) {
      const ssize_t got = ::pread(fd_, cursor, bytes, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        throw Error(cat("cannot read weights file ", path_, " at byte ", offset, ": ",
                        got == 0 ? "it ended early (was it changed while being read?)" : std::strerror(errno)));
      }
      cursor += got;
      offset += static_cast<std::uint64_t>(got);
      bytes -= static_cast<std::size_t>(got);
    }
  }

 private:
  std::string path_;
  std::uint64_t size_;
  int fd_ = -1;
};

template <class T>
T scalar_at(const char* bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes + offset, sizeof value);
  return value;
}

WeightsHeader parse_header(ByteSource& input, const std::string& source) {
  const std::uint64_t size = input.size();
  if (size < 12) {
    throw Error(cat(source, ": ", size, " bytes is too short for a Darknet weights header (16 or 20 bytes); ",
                    "the file is truncated or not a .weights file"));
  }
  char bytes[20] = {};
  input.read(0, bytes, static_cast<std::size_t>(std::min<std::uint64_t>(size, sizeof bytes)));
  // Weights start with small binary numbers; a file whose head is all text is
  // something else (a .names list, a .cfg, a .data file).
  if (std::all_of(bytes, bytes + sizeof bytes, [](char c) {
        return c == '\n' || c == '\r' || c == '\t' || (static_cast<unsigned char>(c) >= 32 && static_cast<unsigned char>(c) < 127);
      })) {
    const std::string head(bytes, sizeof bytes);
    const bool cfg = head.find('[') != std::string::npos || head.find('=') != std::string::npos;
    throw Error(cat(source, ": is a text file (it starts with '", printable(head.substr(0, head.find_first_of("\r\n"))),
                    "'), not Darknet weights; ", cfg ? "that looks like a cfg: did you swap them? The cfg comes first, then the weights"
                                                     : "give the .weights file (a .names list goes to --names)"));
  }
  WeightsHeader header;
  header.major = scalar_at<std::int32_t>(bytes, 0);
  header.minor = scalar_at<std::int32_t>(bytes, 4);
  header.revision = scalar_at<std::int32_t>(bytes, 8);
  if (size < header.size_bytes()) {
    throw Error(cat(source, ": ", size, " bytes is too short for a Darknet weights header (version ", header.major, ".",
                    header.minor, " needs ", header.size_bytes(), " bytes)"));
  }
  header.seen = header.seen_is_64bit() ? scalar_at<std::uint64_t>(bytes, 12) : scalar_at<std::uint32_t>(bytes, 12);
  return header;
}

// Where each deferred kernel block is: byte offset and floats, per layer
// (floats 0: read with the rest).
struct KernelBlocks {
  std::vector<std::uint64_t> offset;
  std::vector<std::int64_t> floats;
};

Weights read_partial(ByteSource& input, const Graph& graph, const std::string& source, WeightsFit& fit,
                     KernelBlocks* deferred = nullptr) {
  Weights weights;
  weights.header = parse_header(input, source);
  fit = WeightsFit{};
  fit.file_bytes = input.size();
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
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    const bool transpose = stored_transposed(layer, weights.header, rows, cols);
    const bool defer = deferred != nullptr && layer.kind == LayerKind::Convolutional && !transpose;
    for (const BlockSize& block : param_layout(layer)) {
      if (defer && block.block == ParamBlock::Weights) {
        deferred->offset[static_cast<std::size_t>(layer.index)] = offset;
        deferred->floats[static_cast<std::size_t>(layer.index)] = block.floats;
        offset += static_cast<std::uint64_t>(block.floats) * sizeof(float);
        continue;
      }
      std::vector<float>& values = params.block(block.block);
      resize_prefaulted(values, static_cast<std::size_t>(block.floats));
      input.read(offset, values.data(), values.size() * sizeof(float));
      offset += values.size() * sizeof(float);
    }
    if (transpose) params.weights = transposed(params.weights, rows, cols);
  }
  if (fit.first_incomplete_layer < 0) {
    fit.trailing_bytes = fit.file_bytes - offset;
    weights.trailing_bytes = fit.trailing_bytes;
  }
  return weights;
}

// A file must fit; what does not is an error naming the layer that runs
// out, and trailing bytes are a warning.
Weights read_exact(ByteSource& input, const Graph& graph, const std::string& source,
                   KernelBlocks* deferred = nullptr) {
  WeightsFit fit;
  Weights weights = read_partial(input, graph, source, fit, deferred);
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

std::uint64_t checked_file_size(const std::string& path, const Graph& graph) {
  const std::size_t size = file_size_or_throw(path, "weights");
  if (size > expected_file_bytes(graph) + kMaxTrailingBytes) {
    throw Error(cat(path, ": weights file is ", size, " bytes but the cfg needs only ", expected_file_bytes(graph),
                    "; it does not belong to ", graph.source));
  }
  return size;
}

}  // namespace

Weights parse_weights_partial(const std::vector<char>& bytes, const Graph& graph, const std::string& source,
                              WeightsFit& fit) {
  MemorySource input(bytes);
  return read_partial(input, graph, source, fit);
}

Weights parse_weights(const std::vector<char>& bytes, const Graph& graph, const std::string& source) {
  MemorySource input(bytes);
  return read_exact(input, graph, source);
}

Weights read_weights(const std::string& path, const Graph& graph) {
  FileSource input(path, checked_file_size(path, graph));
  return read_exact(input, graph, path);
}

struct DeferredKernels::Impl {
  std::unique_ptr<FileSource> file;
  KernelBlocks blocks;
};

DeferredKernels::DeferredKernels() : impl(std::make_unique<Impl>()) {}
DeferredKernels::~DeferredKernels() = default;
DeferredKernels::DeferredKernels(DeferredKernels&&) noexcept = default;
DeferredKernels& DeferredKernels::operator=(DeferredKernels&&) noexcept = default;

bool DeferredKernels::holds(int layer) const {
  return layer >= 0 && static_cast<std::size_t>(layer) < impl->blocks.floats.size() &&
         impl->blocks.floats[static_cast<std::size_t>(layer)] > 0;
}

std::size_t DeferredKernels::floats(int layer) const {
  return holds(layer) ? static_cast<std::size_t>(impl->blocks.floats[static_cast<std::size_t>(layer)]) : 0;
}

void DeferredKernels::read(int layer, float* kernel) const {
  impl->file->read(impl->blocks.offset[static_cast<std::size_t>(layer)], kernel, floats(layer) * sizeof(float));
}

Weights read_weights_deferring_kernels(const std::string& path, const Graph& graph, DeferredKernels& deferred) {
  auto file = std::make_unique<FileSource>(path, checked_file_size(path, graph));
  deferred.impl->blocks.offset.assign(graph.layers.size(), 0);
  deferred.impl->blocks.floats.assign(graph.layers.size(), 0);
  Weights weights = read_exact(*file, graph, path, &deferred.impl->blocks);
  deferred.impl->file = std::move(file);
  return weights;
}

Weights read_weights_partial(const std::string& path, const Graph& graph, WeightsFit& fit) {
  FileSource input(path, checked_file_size(path, graph));
  return read_partial(input, graph, path, fit);
}

}  // namespace dusk
