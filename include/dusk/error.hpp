#pragma once
// The one exception type dusk throws. Its message is a single line that says
// what is wrong, where (file:line, byte offset, layer index) and what to do.
#include <stdexcept>
#include <string>

namespace dusk {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A limit the caller set was exceeded (an image's pixel count): the input
// may be genuine, and a larger limit would take it.
class LimitError : public Error {
 public:
  using Error::Error;
};

}  // namespace dusk
