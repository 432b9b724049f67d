#pragma once
// A Darknet .cfg file as text: sections of key=value options with their line
// numbers. Meaning is given to them later, by build_graph (graph.hpp).
#include <string>
#include <string_view>
#include <vector>

namespace dusk {

struct CfgOption {
  std::string key;
  std::string value;
  int line = 0;
};

struct CfgSection {
  std::string type;  // the header as written, without brackets: "convolutional"
  int line = 0;      // line of the [header]
  std::vector<CfgOption> options;
};

struct Cfg {
  std::string source;  // file name used in messages
  std::vector<CfgSection> sections;
};

// Lexes cfg text the way Darknet does: whitespace anywhere in a line is
// ignored, lines starting with '#' or ';' are comments, "[type]" opens a
// section and "key=value" adds an option. Throws dusk::Error naming
// source:line for anything else.
Cfg parse_cfg(std::string_view text, const std::string& source);

// Reads and parses a cfg file (at most kMaxCfgBytes).
Cfg load_cfg(const std::string& path);

// The cfg text with every batch_normalize= and cbn= line of [convolutional]
// and [connected] sections removed; all other lines, comments included, kept.
// `cfg` must be parse_cfg(text).
std::string without_batchnorm(std::string_view text, const Cfg& cfg);

inline constexpr std::size_t kMaxCfgBytes = 16u << 20;

}  // namespace dusk
