#pragma once
// The one exception type dusk throws. Its message is a single line that says
// what is wrong, where (file:line, byte offset, layer index) and what to do.
// Where "what to do" is an option the caller can set, the message names the
// option by its identifier, and each shell prints its own spelling of it
// (`--max-memory`, `max_memory`, `dusk_options.max_memory_mib`; the table is
// in options.hpp).
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dusk {

// Every option a message may name. Their spellings, ranges and defaults: options.hpp.
enum class Option {
  Threshold, Nms, NmsKind, Letterbox, Resize, Width, Height, Threads, Backend, Precision, Accept, Strict,
  Calibration, Tiles, TileOverlap, Batch, MaxImagePixels, MaxMemory, InputSize, LabeledList, LabeledNames,
  Count
};

// Who reads a message: the library's own names, or one shell's.
enum class Shell { Library, Cli, Python, C };

// A piece of a message: text, or an option to be spelled as the reader's shell spells it.
struct MessagePart {
  MessagePart(std::string words) : text(std::move(words)) {}
  MessagePart(const char* words) : text(words) {}
  MessagePart(Option named) : option(named) {}
  std::string text;
  std::optional<Option> option;
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message), parts_{MessagePart(message)} {}
  // A message that names options; what() spells them as the library does
  // ("NetworkOptions::max_activation_bytes").
  explicit Error(std::vector<MessagePart> parts);
  // The message with each option spelled as `shell` spells it.
  std::string message(Shell shell) const;

 private:
  std::vector<MessagePart> parts_;
};

// A limit the caller set was exceeded (an image's pixel count): the input
// may be genuine, and a larger limit would take it.
class LimitError : public Error {
 public:
  using Error::Error;
};

// What a shell prints for any exception: a dusk::Error in the shell's
// spelling, anything else by what().
std::string error_message(const std::exception& error, Shell shell);

}  // namespace dusk
