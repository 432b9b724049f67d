#pragma once
// The options every shell sets on a detection, in one table: each one's
// identifier, its spelling in each shell and what it takes (the defaults
// are the option structs' own: DetectorOptions, NetworkOptions, JobOptions).
// The shells (command line, Python, C) read their values through the
// functions below, so each check and its "unknown X; use A, B or C" message
// exist once. An OptionError names its option; each shell prints the option
// its own way (`--thresh`, `thresh`, `dusk_options.threshold`) with message().
#include <optional>
#include <string>
#include <string_view>

#include "dusk/detector.hpp"
#include "dusk/error.hpp"
#include "dusk/network.hpp"
#include "dusk/tiles.hpp"

namespace dusk {

struct OptionRow {
  Option option;
  std::string_view library;  // the field: "DetectorOptions::threshold"
  std::string_view cli;      // "--thresh"
  std::string_view python;   // the keyword: "thresh"
  std::string_view c;        // the field: "dusk_options.threshold"
  std::string_view takes;    // "a number from 0 to 1", "auto, fast or ref", ...
};
const OptionRow& option_row(Option option);
std::string_view option_spelling(Option option, Shell shell);

// A value an option does not take: "<option> <value> <problem>", the option
// spelled by each shell (Error::message).
class OptionError : public Error {
 public:
  OptionError(Option option, const std::string& value, const std::string& problem);
  // Any other wording about `option` (its parts may name other options).
  OptionError(Option option, std::vector<MessagePart> parts);
  Option option() const { return option_; }

 private:
  Option option_;
};

// The one wording of a name that is not among the choices:
// "<what> '<name>' is unknown; use <choices>".
std::string unknown_name(std::string_view what, std::string_view name, std::string_view choices);

// Each option's parse and check, throwing OptionError.
float unit_option(Option option, double value);  // Threshold, Nms: 0 to 1
Backend backend_option(std::string_view name);
Precision precision_option(std::string_view name);
Precision accept_option(std::string_view name);  // fp32, bf16 or int8
std::optional<NmsKind> nms_kind_option(std::string_view name);  // "cfg": nullopt (the cfg's own)
ResizeMethod resize_option(std::string_view name);
// "" : none; "CxR" or "auto", with the overlap (0 to 0.5).
std::optional<TileOptions> tiles_option(std::string_view text, double overlap);
int size_option(Option option, long long value);  // Width, Height, Threads: 0 (default) or positive
int batch_option(long long value);                // 1 or more
std::int64_t max_image_pixels_option(long long value);  // positive
std::int64_t max_memory_option(long long mib);         // positive MiB, in bytes

// Every option of `options` that has a range, checked (what Detector does on construction).
void check_detector_options(const DetectorOptions& options);

}  // namespace dusk
