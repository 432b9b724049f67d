#pragma once
// CLI11's parse errors as dusk's own one-line usage errors, with a "did you
// mean" for misspelt commands and options.
#include <CLI/CLI.hpp>
#include <string>

namespace dusk::cli {

// The line to print after "dusk: error: " for a parse error of `app`.
std::string usage_error_line(const CLI::App& app, const CLI::ParseError& error, int argc, char** argv);

}  // namespace dusk::cli
