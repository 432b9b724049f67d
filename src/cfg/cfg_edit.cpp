// Line-level edits of cfg text that keep everything else as the user wrote it.
#include <set>

#include "dusk/cfg.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

bool is_section(const CfgSection& section, std::initializer_list<std::string_view> names) {
  for (const std::string_view name : names) {
    if (section.type == name) return true;
  }
  return false;
}

}  // namespace

std::string without_batchnorm(std::string_view text, const Cfg& cfg) {
  std::set<int> dropped;
  for (const CfgSection& section : cfg.sections) {
    if (!is_section(section, {"convolutional", "conv", "connected", "conn"})) continue;
    for (const CfgOption& option : section.options) {
      if (option.key == "batch_normalize" || option.key == "cbn") dropped.insert(option.line);
    }
  }
  std::string out;
  out.reserve(text.size());
  int line_number = 0;
  const std::vector<std::string_view> lines = split(text, '\n');
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ++line_number;
    if (dropped.count(line_number) > 0) continue;
    out += lines[i];
    if (i + 1 < lines.size()) out += '\n';
  }
  return out;
}

}  // namespace dusk
