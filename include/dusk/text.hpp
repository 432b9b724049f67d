#pragma once
// Small string helpers for building one-line messages, shared by the
// library and its shells (CLI, Python, C API).
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace dusk {

// Concatenates anything that streams: cat("layer ", 3, ": ", shape).
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

std::vector<std::string_view> split(std::string_view text, char separator);
// Makes a value safe to quote in a one-line message: control characters
// escaped, long values shortened.
std::string printable(std::string_view text, std::size_t max_length = 60);

// The candidate closest to `word` by edits (a swap of neighbours counts as
// one), or "" when none is close enough to be a likely misspelling.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace dusk
