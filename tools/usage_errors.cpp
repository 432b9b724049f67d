// One line per usage error, whatever CLI11 found.
#include "usage_errors.hpp"

#include <algorithm>
#include <numeric>

namespace dusk::cli {

namespace {

// Optimal string alignment distance: edits, with a swap of neighbours as one.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string first_line(std::string text) {
  const std::size_t newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  return text;
}

}  // namespace

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

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
