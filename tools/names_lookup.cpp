#include "names_lookup.hpp"

#include <filesystem>
#include <fstream>

#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_with_extension(const fs::path& dir, const std::string& extension) {
  std::vector<fs::path> found;
  std::error_code error;
  for (fs::directory_iterator it(dir.empty() ? fs::path(".") : dir, error), end; !error && it != end; it.increment(error)) {
    if (it->path().extension() == extension && it->is_regular_file(error)) found.push_back(it->path());
  }
  return found;
}

// The names= value of a .data file, relative to the working directory as
// Darknet reads it, else to the .data file's directory.
std::string names_of_data(const fs::path& data) {
  std::ifstream in(data);
  for (std::string line; std::getline(in, line);) {
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    const auto trim = [](std::string& s) {
      s.erase(0, s.find_first_not_of(" \t\r"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
    };
    trim(key);
    trim(value);
    if (key != "names" || value.empty()) continue;
    std::error_code error;
    if (fs::is_regular_file(value, error)) return value;
    const fs::path beside = data.parent_path() / value;
    if (fs::is_regular_file(beside, error)) return beside.string();
  }
  return "";
}

}  // namespace

FoundNames find_names(const std::string& cfg_path, const std::string& weights_path) {
  std::vector<std::pair<fs::path, std::string>> places = {{fs::path(cfg_path), "the cfg"}};
  if (weights_path != "-") places.emplace_back(fs::path(weights_path), "the weights");
  std::error_code error;
  for (const auto& [model, what] : places) {
    const fs::path same_stem = fs::path(model).replace_extension(".names");
    if (fs::is_regular_file(same_stem, error)) return {same_stem.string(), cat("beside ", what)};
  }
  for (const auto& [model, what] : places) {
    const std::vector<fs::path> names = files_with_extension(model.parent_path(), ".names");
    if (names.size() == 1) return {names.front().string(), cat("the only .names file beside ", what)};
    const std::vector<fs::path> data = files_with_extension(model.parent_path(), ".data");
    if (data.size() == 1) {
      const std::string path = names_of_data(data.front());
      if (!path.empty()) return {path, cat("names= of ", data.front().string())};
    }
  }
  return {};
}

}  // namespace dusk::cli
