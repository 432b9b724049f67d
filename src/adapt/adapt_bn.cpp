// adapt_batchnorm: images in, a weights file out that differs from the
// input only in the BatchNorm statistics and the header's images-seen count.
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "dusk/adapt_bn.hpp"
#include "dusk/error.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

void refuse_output_among_inputs(const std::string& out_path, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path target = fs::weakly_canonical(out_path, error);
  if (error) return;
  for (const std::string& input : inputs) {
    std::error_code input_error;
    if (target == fs::weakly_canonical(input, input_error) && !input_error) {
      throw Error(cat("output ", out_path, " is the input ", input,
                      "; dusk never overwrites what it was given, so choose another output path"));
    }
  }
}

// The byte offset of one block of a layer in the file.
std::uint64_t block_offset(const Layer& layer, const LayerParams& params, ParamBlock wanted) {
  std::uint64_t offset = params.offset;
  for (const BlockSize& block : param_layout(layer)) {
    if (block.block == wanted) return offset;
    offset += static_cast<std::uint64_t>(block.floats) * sizeof(float);
  }
  throw Error(cat("layer ", layer.index, " has no ", block_name(wanted), " block"));  // not reached
}

void put_floats(std::vector<char>& bytes, std::uint64_t offset, const std::vector<float>& values) {
  std::memcpy(bytes.data() + offset, values.data(), values.size() * sizeof(float));
}

// Network inputs for each image that decodes; the others join `skipped`.
void load_inputs(const std::vector<std::string>& paths, const Graph& graph, const AdaptBnOptions& options,
                 std::vector<Tensor>& inputs, std::vector<std::string>& used, AdaptBnResult& result) {
  for (const std::string& path : paths) {
    try {
      const Image image = load_image(path, options.max_image_pixels);
      Image fitted = fit_image(image, ImageFit{graph.input.w, graph.input.h, options.letterbox, options.resize});
      Tensor input;
      input.shape = graph.input;
      input.data = std::move(fitted.data);
      inputs.push_back(std::move(input));
      used.push_back(path);
    } catch (const Error& error) {
      result.skipped.emplace_back(path, error.what());
    }
  }
}

}  // namespace

AdaptBnResult adapt_batchnorm(const std::string& cfg_path, const std::string& weights_path,
                              const std::vector<std::string>& images, const std::string& out_path,
                              const AdaptBnOptions& options, const AdaptBnProgress& progress) {
  std::vector<std::string> inputs = images;
  inputs.push_back(cfg_path);
  inputs.push_back(weights_path);
  refuse_output_among_inputs(out_path, inputs);
  if (images.empty()) throw Error("no images given: adapt-bn needs images of the new domain");

  const Graph graph = load_graph(cfg_path);
  std::vector<char> bytes = read_file(weights_path, expected_file_bytes(graph) + kMaxTrailingBytes, "weights");
  BatchNormAdapter adapter(graph, parse_weights(bytes, graph, weights_path), options);

  AdaptBnResult result;
  // Batches are formed from images that decode, in the order given.
  std::vector<Tensor> pending;
  std::vector<std::string> pending_paths;
  std::size_t next = 0;
  while (next < images.size()) {
    const std::size_t take = std::min(images.size() - next, static_cast<std::size_t>(options.batch) - pending.size());
    const std::vector<std::string> chunk(images.begin() + static_cast<std::ptrdiff_t>(next),
                                         images.begin() + static_cast<std::ptrdiff_t>(next + take));
    next += take;
    load_inputs(chunk, graph, options, pending, pending_paths, result);
    if (pending.size() == static_cast<std::size_t>(options.batch)) {
      adapter.add_batch(pending);
      pending.clear();
      pending_paths.clear();
    }
    if (progress) progress(static_cast<std::int64_t>(next), static_cast<std::int64_t>(images.size()));
  }
  if (!pending.empty()) {
    if (static_cast<int>(pending.size()) >= adapter.smallest_batch()) {
      adapter.add_batch(pending);
    } else {
      result.skipped.emplace_back(pending_paths.back(), cat("the last batch has ", pending.size(), " image; a BatchNorm with a 1x1 "
                                                     "output needs two per batch, so it was left out"));
    }
  }
  if (adapter.batches() == 0) {
    throw Error(cat("none of the ", images.size(), " images could be used (",
                    result.skipped.empty() ? "" : result.skipped.front().second,
                    "); give images that decode, JPEG or PNG"));
  }

  // The input file, byte for byte, with only the statistics and `seen` replaced.
  const Weights& adapted = adapter.weights();
  for (const int index : adapter.batchnorm_layers()) {
    const Layer& layer = graph.layers[static_cast<std::size_t>(index)];
    const LayerParams& params = adapted.layers[static_cast<std::size_t>(index)];
    put_floats(bytes, block_offset(layer, params, ParamBlock::Mean), params.mean);
    put_floats(bytes, block_offset(layer, params, ParamBlock::Variance), params.variance);
  }
  WeightsHeader header = adapted.header;
  header.seen += static_cast<std::uint64_t>(adapter.images());
  if (header.seen_is_64bit()) {
    std::memcpy(bytes.data() + 12, &header.seen, sizeof(std::uint64_t));
  } else {
    const auto seen32 = static_cast<std::uint32_t>(header.seen);
    std::memcpy(bytes.data() + 12, &seen32, sizeof(seen32));
    header.seen = seen32;
  }
  write_file_atomic(out_path, bytes.data(), bytes.size());

  result.images = adapter.images();
  result.batches = adapter.batches();
  result.layers = adapter.batchnorm_layers();
  result.seen = header.seen;
  return result;
}

}  // namespace dusk
