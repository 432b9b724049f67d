// Darknet's dataset conventions: .data files, image lists and label files.
#include "eval/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "dusk/error.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxListBytes = std::size_t{1} << 30;
constexpr std::size_t kMaxSmallFileBytes = std::size_t{64} << 20;

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> lines_of(const std::vector<char>& bytes) {
  return split(std::string_view(bytes.data(), bytes.size()), '\n');
}

std::string replace_first(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string with_txt_extension(const std::string& path) {
  const fs::path p(path);
  if (!has_image_extension(p.string())) return path + ".txt";
  return fs::path(p).replace_extension(".txt").string();
}

}  // namespace

DataFile read_data_file(const std::string& path) {
  const std::vector<char> bytes = read_file(path, kMaxSmallFileBytes, "data");
  DataFile data;
  data.path = path;
  std::string train;
  int line_number = 0;
  for (std::string_view line : lines_of(bytes)) {
    ++line_number;
    line = trim(line);
    if (line.size() >= 3 && static_cast<unsigned char>(line[0]) == 0xEF && static_cast<unsigned char>(line[1]) == 0xBB &&
        static_cast<unsigned char>(line[2]) == 0xBF) {
      line = trim(line.substr(3));  // a byte-order mark from a Windows editor
    }
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      throw Error(cat(path, ":", line_number, ": '", printable(line), "' is not key=value; a .data file holds lines like classes=80"));
    }
    const std::string key(trim(line.substr(0, equals)));
    const std::string value(trim(line.substr(equals + 1)));
    if (key == "classes") {
      int classes = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), classes);
      if (error != std::errc() || end != value.data() + value.size() || classes < 1) {
        throw Error(cat(path, ":", line_number, ": classes=", printable(value), " is not a positive whole number"));
      }
      data.classes = classes;
    } else if (key == "valid") {
      data.valid = value;
    } else if (key == "train") {
      train = value;
    } else if (key == "names") {
      data.names = value;
    }
  }
  if (data.valid.empty()) data.valid = train;
  return data;
}

std::vector<std::string> read_image_list(const std::string& path) {
  std::error_code error;
  std::vector<std::string> images;
  if (fs::is_directory(path, error)) {
    for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
      std::error_code entry_error;  // a broken link is listed, and reported when it cannot be read
      if (!entry.is_directory(entry_error) && has_image_extension(entry.path().string())) {
        images.push_back(entry.path().string());
      }
    }
    if (error) throw Error(cat("cannot list directory ", path, ": ", error.message()));
    std::sort(images.begin(), images.end());
    return images;
  }
  const std::vector<char> bytes = read_file(path, kMaxListBytes, "image list");
  for (const std::string_view line : lines_of(bytes)) {
    const std::string_view entry = trim(line);
    if (!entry.empty()) images.emplace_back(entry);
  }
  return images;
}

std::vector<std::string> label_path_candidates(const std::string& image_path) {
  std::string path = image_path;
  for (const auto& [from, to] : {std::pair{"/images/train2017/", "/labels/train2017/"},
                                 std::pair{"/images/val2017/", "/labels/val2017/"},
                                 std::pair{"/JPEGImages/", "/labels/"}, std::pair{"/images/", "/labels/"}}) {
    const std::string replaced = replace_first(path, from, to);
    if (replaced != path) {
      path = replaced;
      break;
    }
  }
  std::vector<std::string> candidates = {with_txt_extension(path)};
  const std::string beside = with_txt_extension(image_path);
  if (beside != candidates.front()) candidates.push_back(beside);
  return candidates;
}

std::vector<Truth> read_truths(const std::string& label_path, int classes) {
  const std::vector<char> bytes = read_file(label_path, kMaxSmallFileBytes, "label");
  std::vector<Truth> truths;
  int line_number = 0;
  for (const std::string_view raw : lines_of(bytes)) {
    ++line_number;
    const std::string line(trim(raw));
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::size_t at = 0;
    while (at < line.size()) {
      while (at < line.size() && std::isspace(static_cast<unsigned char>(line[at]))) ++at;
      const std::size_t start = at;
      while (at < line.size() && !std::isspace(static_cast<unsigned char>(line[at]))) ++at;
      if (at > start) fields.push_back(line.substr(start, at - start));
    }
    const std::string where = cat(label_path, ":", line_number, ": ");
    if (fields.size() != 5) {
      throw Error(cat(where, "has ", fields.size(), " fields; a label line is 'class center_x center_y width height'"));
    }
    int class_id = 0;
    const auto [end, error] = std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), class_id);
    if (error != std::errc() || end != fields[0].data() + fields[0].size()) {
      throw Error(cat(where, "class '", printable(fields[0]), "' is not a whole number"));
    }
    if (class_id < 0 || class_id >= classes) {
      throw Error(cat(where, "class ", class_id, " is out of range: the model has ", classes, " classes (0..",
                      classes - 1, ")"));
    }
    float values[4];
    for (int i = 0; i < 4; ++i) {
      const std::string& field = fields[static_cast<std::size_t>(i + 1)];
      char* parsed_end = nullptr;
      values[i] = std::strtof(field.c_str(), &parsed_end);
      if (parsed_end != field.c_str() + field.size() || !std::isfinite(values[i])) {
        throw Error(cat(where, "'", printable(field), "' is not a number"));
      }
    }
    truths.push_back({class_id, RelativeBox{values[0], values[1], values[2], values[3]}});
  }
  return truths;
}

}  // namespace dusk
