#include "cli_common.hpp"

#include "dusk/options.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <filesystem>
#include <iostream>
#include <unistd.h>

#include <algorithm>

#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

bool parse_positive(std::string_view text, int& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value > 0;
}

}  // namespace

Size parse_size(const std::string& text) {
  if (text.empty()) return {};
  const std::size_t x = text.find_first_of("xX");
  Size size;
  if (x == std::string::npos || !parse_positive(std::string_view(text).substr(0, x), size.width) ||
      !parse_positive(std::string_view(text).substr(x + 1), size.height)) {
    throw UsageError("--size '" + text + "' is not WIDTHxHEIGHT; write it like 416x416");
  }
  return size;
}

std::vector<int> parse_layer_list(const std::string& text, const Graph& graph) {
  std::vector<int> layers;
  if (text.empty()) return layers;
  if (text == "all") {
    for (const Layer& layer : graph.layers) layers.push_back(layer.index);
    return layers;
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    int index = -1;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), index);
    if (error != std::errc() || end != item.data() + item.size() || index < 0 ||
        index >= static_cast<int>(graph.layers.size())) {
      throw UsageError("--layers '" + text + "': '" + std::string(item) + "' is not a layer index of " +
                       graph.source + " (0.." + std::to_string(graph.layers.size() - 1) + ") nor 'all'");
    }
    layers.push_back(index);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return layers;
}

void add_precision_flags(CLI::App& command, PrecisionFlags& flags) {
  command.add_option("--precision", flags.precision,
                     "fp32, bf16, int8, or auto: the fastest this CPU has among those --accept allows")
      ->capture_default_str();
  command.add_option("--accept", flags.accept, "the least accurate mode --precision auto may pick: fp32, bf16 or int8")
      ->capture_default_str();
  command.add_flag("--strict", flags.strict, "fail, rather than run fp32, when the CPU lacks the mode asked for");
  command.add_option("--calib", flags.calibration, "int8 activation ranges from dusk calibrate (for these weights)");
}

void apply_precision_flags(const PrecisionFlags& flags, NetworkOptions& options) {
  options.precision = precision_option(flags.precision);
  options.lowest_accepted = accept_option(flags.accept);
  options.strict_precision = flags.strict;
  if (!flags.calibration.empty()) {
    options.calibration = std::make_shared<const Calibration>(read_calibration(flags.calibration));
  }
}

Network load_network(const std::string& cfg_path, const std::string& weights_path, const NetworkOptions& options,
                     std::uint64_t seed) {
  Graph graph = load_graph(cfg_path, GraphOptions{options.width, options.height});
  print_warnings(graph.warnings);
  if (weights_path == "-") {
    Weights random = random_weights(graph, seed);
    Network network(std::move(graph), std::move(random), options);
    print_notices(network);
    return network;
  }
  Network network = Network::load(std::move(graph), weights_path, options);
  print_warnings(network.weights_warnings());
  print_notices(network);
  return network;
}

// Directories expand to the image files directly in them, sorted.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code error;
    if (!std::filesystem::is_directory(input, error)) {
      files.push_back(input);  // missing files are reported when read
      continue;
    }
    std::vector<std::string> found;
    for (const std::filesystem::directory_entry& entry : std::filesystem::directory_iterator(input, error)) {
      // Not a directory, with an image's extension: a broken link is listed
      // too, and reported as that image's error while the others run.
      std::error_code entry_error;
      if (!entry.is_directory(entry_error) && has_image_extension(entry.path().string())) {
        found.push_back(entry.path().string());
      }
    }
    if (error) throw Error(cat("cannot list directory ", input, ": ", error.message()));
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

std::vector<std::string> expand_images(const std::vector<std::string>& inputs, const std::string& purpose) {
  std::vector<std::string> images = expand_inputs(inputs);
  if (images.empty()) {
    throw UsageError("no images to " + purpose + ": the directories given hold no image files" +
                     images_one_level_down(inputs.front()));
  }
  return images;
}

void print_notices(const Network& network) {
  for (const std::string& notice : network.notices()) std::cerr << "dusk: notice: " << notice << "\n";
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const std::string& warning : warnings) std::cerr << "dusk: warning: " << warning << "\n";
}

void refuse_to_overwrite(const std::string& output, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path target = fs::weakly_canonical(output, error);
  for (const std::string& input : inputs) {
    if (!error && target == fs::weakly_canonical(input, error)) {
      throw UsageError("output " + output + " is the input " + input + "; dusk never overwrites its inputs, so "
                       "choose another output path");
    }
  }
}

TemporaryFile::TemporaryFile(const std::string& stem, const std::string& extension)
    : path_((std::filesystem::temp_directory_path() / (stem + "-" + std::to_string(::getpid()) + extension)).string()) {}

TemporaryFile::~TemporaryFile() {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

}  // namespace dusk::cli
