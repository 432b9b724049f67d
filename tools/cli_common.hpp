#pragma once
// Helpers shared by the dusk subcommands.
#include <optional>
#include <string>
#include <vector>

#include "dusk/dusk.hpp"

namespace CLI {
class App;
}

namespace dusk::cli {

// A usage mistake (bad flag value): exit code 2 rather than 1.
class UsageError : public Error {
 public:
  using Error::Error;
};

struct Size {
  int width = 0;
  int height = 0;
};
// "416x416" -> {416, 416}; empty -> {0, 0} (the cfg's size).
Size parse_size(const std::string& text);

// "all", or "12,30" -> indices; empty -> empty.
std::vector<int> parse_layer_list(const std::string& text, const Graph& graph);


// --precision, --accept and --strict, on every command that runs a network.
struct PrecisionFlags {
  std::string precision = "auto";
  std::string accept = "fp32";
  bool strict = false;
  std::string calibration;  // --calib FILE (dusk calibrate)
};
void add_precision_flags(CLI::App& command, PrecisionFlags& flags);
// Sets the NetworkOptions they stand for (reading the calibration file);
// UsageError on an unknown mode.
void apply_precision_flags(const PrecisionFlags& flags, NetworkOptions& options);


// Directories expand to the image files directly in them, sorted; files
// stay as given (a missing one is reported when read).
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);
// The same, refusing (UsageError) when no image is left: "no images to
// <purpose>: ...", naming the subdirectory that holds them when there is one.
std::vector<std::string> expand_images(const std::vector<std::string>& inputs, const std::string& purpose);

// Builds the graph and reads the weights; WEIGHTS "-" means seeded random ones.
Network load_network(const std::string& cfg_path, const std::string& weights_path, const NetworkOptions& options,
                     std::uint64_t seed = 1);

void print_warnings(const std::vector<std::string>& warnings);
// The network's notices (a precision that fell back), one line each.
void print_notices(const Network& network);

// Usage error if `output` names the same file as any of `inputs`: dusk never
// modifies what it was given.
void refuse_to_overwrite(const std::string& output, const std::vector<std::string>& inputs);

// A file name of our own in the system's temporary directory, removed (if it
// was created) when this goes out of scope.
class TemporaryFile {
 public:
  TemporaryFile(const std::string& stem, const std::string& extension);
  ~TemporaryFile();
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace dusk::cli
