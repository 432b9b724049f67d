// One line per usage error, whatever CLI11 found.
#include "usage_errors.hpp"

#include <algorithm>
#include <numeric>

#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

std::string first_line(std::string text) {
  const std::size_t newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  return text;
}

}  // namespace

std::string usage_error_line(const CLI::App& app, const CLI::ParseError& error, int argc, char** argv) {
  std::vector<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) commands.push_back(sub->get_name());
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  if (parsed.empty()) {
    const std::string word = argc > 1 ? argv[1] : "";
    const std::string list = std::accumulate(commands.begin(), commands.end(), std::string(),
                                             [](std::string all, const std::string& c) { return all.empty() ? c : all + ", " + c; });
    if (word.empty() || word[0] == '-') return "no command given; use one of " + list + " (dusk --help tells more)";
    const std::string guess = closest(word, commands);
    return "unknown command '" + word + "'" + (guess.empty() ? "" : "; did you mean " + guess + "?") + " Commands: " + list;
  }
  const CLI::App& command = *parsed.front();
  std::string message = first_line(error.what());
  const std::string unexpected = "The following argument was not expected: ";
  const std::string unexpected_many = "The following arguments were not expected: ";
  std::string word;
  if (message.rfind(unexpected, 0) == 0) word = message.substr(unexpected.size());
  if (message.rfind(unexpected_many, 0) == 0) word = message.substr(unexpected_many.size());
  if (!word.empty()) {
    word = word.substr(0, word.find(' '));
    if (word.rfind("--", 0) == 0) {
      std::vector<std::string> options;
      for (const CLI::Option* option : command.get_options()) {
        for (const std::string& name : option->get_lnames()) options.push_back("--" + name);
      }
      const std::string bare = word.substr(0, word.find('='));
      const std::string guess = closest(bare, options);
      return "dusk " + command.get_name() + ": unknown option " + bare +
             (guess.empty() ? "" : "; did you mean " + guess + "?") + " (dusk " + command.get_name() + " --help lists them)";
    }
    return "dusk " + command.get_name() + ": unexpected argument '" + word + "' (dusk " + command.get_name() +
           " --help shows what it takes)";
  }
  return "dusk " + command.get_name() + ": " + message;
}

}  // namespace dusk::cli
