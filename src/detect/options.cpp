// The table of detection options and their checks (options.hpp).
#include "dusk/options.hpp"

#include <array>
#include <cstddef>

#include "dusk/text.hpp"

namespace dusk {

namespace {

constexpr std::array<OptionRow, static_cast<std::size_t>(Option::Count)> kRows = {{
    {Option::Threshold, "DetectorOptions::threshold", "--thresh", "thresh", "dusk_options.threshold",
     "a number from 0 to 1"},
    {Option::Nms, "DetectorOptions::nms", "--nms", "nms", "dusk_options.nms", "a number from 0 to 1 (0: no NMS)"},
    {Option::NmsKind, "DetectorOptions::nms_kind", "--nms-kind", "nms_kind", "dusk_options.nms_kind",
     "default, greedynms, diounms or cornersnms, or cfg"},
    {Option::Letterbox, "DetectorOptions::letterbox", "--letterbox", "letterbox", "dusk_options.letterbox",
     "true or false"},
    {Option::Resize, "DetectorOptions::resize", "--resize", "resize", "dusk_options.resize",
     "darknet, linear or nearest"},
    {Option::Width, "NetworkOptions::width", "--size", "size", "dusk_options.width", "0 (the cfg's) or positive"},
    {Option::Height, "NetworkOptions::height", "--size", "size", "dusk_options.height", "0 (the cfg's) or positive"},
    {Option::Threads, "NetworkOptions::threads", "--threads", "threads", "dusk_options.threads",
     "0 (all the CPUs this process may use) or positive"},
    {Option::Backend, "NetworkOptions::backend", "--backend", "backend", "dusk_options.backend", "auto, fast or ref"},
    {Option::Precision, "NetworkOptions::precision", "--precision", "precision", "dusk_options.precision",
     "auto, fp32, bf16 or int8"},
    {Option::Accept, "NetworkOptions::lowest_accepted", "--accept", "accept", "dusk_options.accept",
     "fp32, bf16 or int8"},
    {Option::Strict, "NetworkOptions::strict_precision", "--strict", "strict", "dusk_options.strict",
     "true or false"},
    {Option::Calibration, "NetworkOptions::calibration", "--calib", "calib", "dusk_options.calibration_path",
     "a file from dusk calibrate"},
    {Option::Tiles, "JobOptions::tiles", "--tiles", "tiles", "dusk_options.tiles",
     "CxR (columns x rows) or auto"},
    {Option::TileOverlap, "TileOptions::overlap", "--tile-overlap", "tile_overlap", "dusk_options.tile_overlap",
     "a number from 0 to 0.5"},
    {Option::Batch, "JobOptions::batch", "--batch", "batch", "dusk_options.batch", "1 or more"},
    {Option::MaxImagePixels, "DetectorOptions::max_image_pixels", "--max-image-pixels", "max_image_pixels",
     "dusk_options.max_image_pixels", "a positive count"},
    {Option::MaxMemory, "NetworkOptions::max_activation_bytes", "--max-memory MiB", "max_memory",
     "dusk_options.max_memory_mib", "MiB of layer outputs, positive"},
    // The input size as one setting, for messages that ask for a smaller or a given one.
    {Option::InputSize, "GraphOptions::width and height", "--size WxH", "size", "dusk_options.width and height",
     "WxH, multiples of 32 for most cfgs"},
    {Option::LabeledList, "LabeledSource::list", "--list LIST_OR_DIR", "list", "",
     "an image list or a directory of images with Darknet labels"},
    {Option::LabeledNames, "LabeledSource::names", "--names FILE", "names", "", "a .names file"},
}};

constexpr bool rows_in_order() {
  for (std::size_t i = 0; i < kRows.size(); ++i) {
    if (kRows[i].option != static_cast<Option>(i) || kRows[i].cli.empty()) return false;
  }
  return true;
}
static_assert(rows_in_order(), "the option table: one row per Option, in the enum's order");

// The wording of every refused name, here and in unknown_name.
std::string quoted_name(std::string_view name) { return cat("'", printable(name), "'"); }
std::string unknown_problem(std::string_view choices) { return cat("is unknown; use ", choices); }

[[noreturn]] void unknown(Option option, std::string_view name) {
  throw OptionError(option, quoted_name(name), unknown_problem(option_row(option).takes));
}

[[noreturn]] void out_of_range(Option option, const std::string& value) {
  throw OptionError(option, value, cat("is out of range; use ", option_row(option).takes));
}

}  // namespace

const OptionRow& option_row(Option option) { return kRows.at(static_cast<std::size_t>(option)); }

std::string unknown_name(std::string_view what, std::string_view name, std::string_view choices) {
  return cat(what, " ", quoted_name(name), " ", unknown_problem(choices));
}

std::string_view option_spelling(Option option, Shell shell) {
  const OptionRow& row = option_row(option);
  switch (shell) {
    case Shell::Library: return row.library;
    case Shell::Cli: return row.cli;
    case Shell::Python: return row.python.empty() ? row.library : row.python;  // a setting the shell lacks:
    case Shell::C: return row.c.empty() ? row.library : row.c;                 // the library's name for it
  }
  return row.library;
}

namespace {

std::string spelled(const std::vector<MessagePart>& parts, Shell shell) {
  std::string text;
  for (const MessagePart& part : parts) text += part.option ? std::string(option_spelling(*part.option, shell)) : part.text;
  return text;
}

}  // namespace

Error::Error(std::vector<MessagePart> parts)
    : std::runtime_error(spelled(parts, Shell::Library)), parts_(std::move(parts)) {}

std::string Error::message(Shell shell) const { return spelled(parts_, shell); }

std::string error_message(const std::exception& error, Shell shell) {
  const auto* ours = dynamic_cast<const Error*>(&error);
  return ours != nullptr ? ours->message(shell) : std::string(error.what());
}

OptionError::OptionError(Option option, const std::string& value, const std::string& problem)
    : Error({option, cat(" ", value, " ", problem)}), option_(option) {}

OptionError::OptionError(Option option, std::vector<MessagePart> parts) : Error(std::move(parts)), option_(option) {}

float unit_option(Option option, double value) {
  if (!(value >= 0 && value <= 1)) out_of_range(option, cat(value));
  return static_cast<float>(value);
}

Backend backend_option(std::string_view name) {
  if (const std::optional<Backend> backend = parse_backend(name)) return *backend;
  unknown(Option::Backend, name);
}

Precision precision_option(std::string_view name) {
  if (const std::optional<Precision> precision = parse_precision(name)) return *precision;
  unknown(Option::Precision, name);
}

Precision accept_option(std::string_view name) {
  const std::optional<Precision> accept = parse_precision(name);
  if (!accept || *accept == Precision::Auto) unknown(Option::Accept, name);
  return *accept;
}

std::optional<NmsKind> nms_kind_option(std::string_view name) {
  if (name == "cfg") return std::nullopt;
  if (const std::optional<NmsKind> kind = parse_nms_kind(name)) return kind;
  unknown(Option::NmsKind, name);
}

ResizeMethod resize_option(std::string_view name) {
  if (name == "darknet") return ResizeMethod::Darknet;
  if (name == "linear") return ResizeMethod::Linear;
  if (name == "nearest") return ResizeMethod::Nearest;
  unknown(Option::Resize, name);
}

std::optional<TileOptions> tiles_option(std::string_view text, double overlap) {
  if (text.empty()) return std::nullopt;
  TileOptions tiles;
  if (!(overlap >= 0 && overlap <= 0.5)) out_of_range(Option::TileOverlap, cat(overlap));
  tiles.overlap = static_cast<float>(overlap);
  if (text == "auto") {
    tiles.automatic = true;
    return tiles;
  }
  const std::size_t x = text.find('x');
  const auto number = [](std::string_view digits) {
    int value = 0;
    if (digits.empty() || digits.size() > 4) return -1;
    for (const char c : digits) {
      if (c < '0' || c > '9') return -1;
      value = value * 10 + (c - '0');
    }
    return value;
  };
  tiles.columns = x == std::string_view::npos ? -1 : number(text.substr(0, x));
  tiles.rows = x == std::string_view::npos ? -1 : number(text.substr(x + 1));
  if (tiles.columns < 1 || tiles.rows < 1) {
    throw OptionError(Option::Tiles, cat("'", printable(text), "'"),
                      "is not CxR or auto; write it like 3x2 (3 columns, 2 rows)");
  }
  try {
    tile_layout(1000, 1000, 100, 100, tiles);  // the layout's own limits, with its message
  } catch (const Error& error) {
    throw OptionError(Option::Tiles, cat("'", printable(text), "'"), cat("does not work: ", error.what()));
  }
  return tiles;
}

int size_option(Option option, long long value) {
  if (value < 0 || value > kMaxInputSide * 1024LL) out_of_range(option, cat(value));
  return static_cast<int>(value);
}

int batch_option(long long value) {
  if (value < 1 || value > 4096) out_of_range(Option::Batch, cat(value));
  return static_cast<int>(value);
}

std::int64_t max_image_pixels_option(long long value) {
  if (value < 1) out_of_range(Option::MaxImagePixels, cat(value));
  return value;
}

std::int64_t max_memory_option(long long mib) {
  // Up to 2^40 MiB, so the bytes fit an int64_t.
  if (!(mib > 0 && mib <= (1LL << 40))) out_of_range(Option::MaxMemory, cat(mib));
  return static_cast<std::int64_t>(mib) << 20;
}

void check_detector_options(const DetectorOptions& options) {
  unit_option(Option::Threshold, options.threshold);
  unit_option(Option::Nms, options.nms);
  max_image_pixels_option(options.max_image_pixels);
  size_option(Option::Width, options.network.width);
  size_option(Option::Height, options.network.height);
  size_option(Option::Threads, options.network.threads);
}

}  // namespace dusk
