// `dusk forward`: runs the network and dumps chosen layers' outputs as raw
// float32 CHW files named like Darknet's layer dumps.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli_common.hpp"
#include "dusk/options.hpp"
#include "commands.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

struct ForwardArgs {
  std::string cfg;
  std::string weights;
  std::string input;
  std::string size;
  std::string layers;
  std::string dump;
  std::string backend = "auto";
  PrecisionFlags precision;
  int threads = 0;
  std::int64_t max_memory_mb = kDefaultMaxActivationBytes >> 20;
};

bool is_raw_tensor(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".f32" || ext == ".raw";
}

Tensor read_raw_tensor(const std::string& path, const Shape& shape) {
  const std::size_t expected = static_cast<std::size_t>(shape.size()) * sizeof(float);
  const std::size_t size = file_size_or_throw(path, "input tensor");
  if (size != expected) {
    throw Error(cat(path, ": raw input is ", size, " bytes but the network takes ", to_string(shape), " floats = ",
                    expected, " bytes (float32, little endian, CHW)"));
  }
  const std::vector<char> bytes = read_file(path, expected, "input tensor");
  Tensor tensor(shape);
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(tensor.data.data()));
  return tensor;
}

Tensor make_input(const std::string& path, const Shape& shape) {
  if (path.empty()) return Tensor(shape, 0.5f);  // mid-grey, like letterbox fill
  if (is_raw_tensor(path)) return read_raw_tensor(path, shape);
  if (shape.c != 3) {
    throw Error(cat("the network takes ", shape.c, " channels but images are loaded as RGB; give a raw .f32 tensor"));
  }
  const Image image = fit_image(load_image(path), ImageFit{shape.w, shape.h});
  Tensor tensor(shape);
  tensor.data = image.data;
  return tensor;
}

void describe_output(const Graph& graph, int index, const Tensor& tensor, const std::string& file) {
  const auto [lowest, highest] = std::minmax_element(tensor.data.begin(), tensor.data.end());
  double sum = 0;
  for (const float v : tensor.data) sum += v;
  const Layer& layer = graph.layers[static_cast<std::size_t>(index)];
  char line[256];
  std::snprintf(line, sizeof line, "layer %4d %-14s %-14s min %10.5f  mean %10.5f  max %10.5f", index,
                std::string(layer_kind_name(layer.kind)).c_str(), to_string(tensor.shape).c_str(), *lowest,
                sum / static_cast<double>(tensor.data.size()), *highest);
  std::cout << line << (file.empty() ? "" : "  -> " + file) << "\n";
}

int run_forward(const ForwardArgs& args) {
  const Size size = parse_size(args.size);
  NetworkOptions options{size.width, size.height, args.threads, backend_option(args.backend), args.max_memory_mb << 20};
  apply_precision_flags(args.precision, options);
  const Network network = load_network(args.cfg, args.weights, options);
  const Graph& graph = network.graph();
  std::vector<int> layers = parse_layer_list(args.layers, graph);
  if (layers.empty()) layers = graph.head_layers();
  if (layers.empty()) throw UsageError(cat(graph.source, " has no detection head; choose layers with --layers"));

  const Tensor input = make_input(args.input, network.input_shape());
  const std::vector<Tensor> outputs = network.forward(input, layers);
  if (!args.dump.empty()) std::filesystem::create_directories(args.dump);
  std::cout << "input " << (args.input.empty() ? "mid-grey (no --input)" : args.input) << " -> "
            << to_string(network.input_shape()) << "\n";
  for (std::size_t i = 0; i < layers.size(); ++i) {
    std::string file;
    if (!args.dump.empty()) {
      file = (std::filesystem::path(args.dump) / cat("layer", layers[i], "_", to_string(outputs[i].shape), ".f32")).string();
      write_file_atomic(file, outputs[i].data.data(), outputs[i].data.size() * sizeof(float));
    }
    describe_output(graph, layers[i], outputs[i], file);
  }
  return 0;
}

}  // namespace

void add_forward_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<ForwardArgs>();
  CLI::App* command = app.add_subcommand("forward", "Run the network and dump layer outputs (float32 CHW)");
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file, or - for seeded random weights")->required();
  command->add_option("--input", args->input, "image (stretched to the input size) or raw float32 CHW .f32 tensor");
  command->add_option("--size", args->size, "input size WxH instead of the cfg's");
  command->add_option("--layers", args->layers, "'all' or comma-separated layer indices (default: detection heads)");
  command->add_option("--dump", args->dump, "directory for layer<N>_<C>x<H>x<W>.f32 files");
  command->add_option("--threads", args->threads, "threads to use (default: all cores)")->check(CLI::NonNegativeNumber);
  command->add_option("--backend", args->backend, "auto, fast (oneDNN) or ref (reference kernels)")->capture_default_str();
  add_precision_flags(*command, args->precision);
  command->add_option("--max-memory", args->max_memory_mb, "refuse networks whose layer outputs need more MiB")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  command->callback([args, &action] { action = [args] { return run_forward(*args); }; });
}

}  // namespace dusk::cli
