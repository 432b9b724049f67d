// Lexing of Darknet .cfg text into sections and options.
#include <cstdint>
#include <cstring>
#include <string>

#include "dusk/cfg.hpp"
#include "dusk/error.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

// Darknet removes every space, tab and carriage return from a line before
// looking at it, so "filters = 64" and "filters=64" are the same option.
std::string strip_whitespace(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (const char ch : line) {
    if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') out += ch;
  }
  return out;
}

// A trailing "# note" or "; note" after a value or header is a comment.
std::string_view drop_inline_comment(std::string_view text) {
  const std::size_t cut = text.find_first_of("#;");
  return cut == std::string_view::npos ? text : text.substr(0, cut);
}

}  // namespace

Cfg parse_cfg(std::string_view text, const std::string& source) {
  Cfg cfg;
  cfg.source = source;
  if (text.find('\0') != std::string_view::npos) {
    // A weights file starts with small major, minor and revision numbers.
    std::int32_t version[3] = {-1, -1, -1};
    if (text.size() >= sizeof version) std::memcpy(version, text.data(), sizeof version);
    if (version[0] >= 0 && version[0] < 10 && version[1] >= 0 && version[1] < 100 && version[2] >= 0 && version[2] < 1000) {
      throw Error(cat(source, ": is a Darknet .weights file (version ", version[0], ".", version[1], ".", version[2],
                      "), not a cfg; did you swap them? The cfg comes first, then the weights"));
    }
    throw Error(cat(source, ": contains NUL bytes, so it is not a text cfg file; give a Darknet .cfg"));
  }
  // Windows editors start UTF-8 files with a byte-order mark (Darknet
  // itself then silently loses the [net] header).
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int line_number = 0;
  for (const std::string_view raw_line : split(text, '\n')) {
    ++line_number;
    const std::string line = strip_whitespace(raw_line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;

    const std::string where = cat(source, ":", line_number);
    if (line[0] == '[') {
      const std::size_t close = line.find(']');
      if (close == std::string::npos) {
        throw Error(cat(where, ": section header '", printable(line), "' has no closing ']'; write it as [name]"));
      }
      if (!drop_inline_comment(std::string_view(line).substr(close + 1)).empty()) {
        throw Error(cat(where, ": unexpected text after section header '", printable(line),
                        "'; put options on their own lines"));
      }
      const std::string type = line.substr(1, close - 1);
      if (type.empty()) throw Error(cat(where, ": empty section header '[]'; name the section, e.g. [convolutional]"));
      cfg.sections.push_back(CfgSection{type, line_number, {}});
      continue;
    }

    const std::size_t equals = line.find('=');
    if (equals == std::string::npos) {
      throw Error(cat(where, ": cannot parse '", printable(line), "'; expected key=value, [section] or a # comment"));
    }
    const std::string key = line.substr(0, equals);
    const std::string value(drop_inline_comment(std::string_view(line).substr(equals + 1)));
    if (key.empty()) throw Error(cat(where, ": option '", printable(line), "' has no key; expected key=value"));
    if (value.empty()) {
      throw Error(cat(where, ": option '", printable(key), "' has no value; expected ", printable(key), "=value"));
    }
    if (cfg.sections.empty()) {
      throw Error(cat(where, ": option '", printable(key), "' comes before any section; start the file with [net]"));
    }
    cfg.sections.back().options.push_back(CfgOption{key, value, line_number});
  }
  return cfg;
}

Cfg load_cfg(const std::string& path) {
  const std::vector<char> bytes = read_file(path, kMaxCfgBytes, "cfg");
  return parse_cfg(std::string_view(bytes.data(), bytes.size()), path);
}

}  // namespace dusk
