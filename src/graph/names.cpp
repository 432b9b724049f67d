// Name tables for the closed sets in graph.hpp, kept in step with their enums
// by static_asserts.
#include <array>
#include <cctype>

#include "dusk/graph.hpp"
#include "graph/activation_table.hpp"
#include "graph/layer_kind_table.hpp"
#include "graph/graph_internal.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {


struct Alias {
  std::string_view section;
  LayerKind kind;
};
constexpr Alias kSectionAliases[] = {
    {"conv", LayerKind::Convolutional},    {"conn", LayerKind::Connected},
    {"max", LayerKind::Maxpool},           {"local_avg", LayerKind::LocalAvgpool},
    {"avg", LayerKind::Avgpool},           {"soft", LayerKind::Softmax},
    {"silence", LayerKind::Empty},
};

// Darknet sections dusk knows but does not run, with what they are.
constexpr std::string_view kUnsupportedSections[] = {
    "rnn", "gru", "lstm", "crnn", "conv_lstm", "history", "local", "detection",
    "contrastive", "implicit", "normalization", "lrn", "deconvolutional", "deconv",
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view nms_kind_name(NmsKind kind) {
  switch (kind) {
    case NmsKind::Default: return "default";
    case NmsKind::Greedy: return "greedynms";
    case NmsKind::Diou: return "diounms";
    case NmsKind::Corners: return "cornersnms";
  }
  return "default";
}

std::optional<NmsKind> parse_nms_kind(std::string_view name) {
  for (const NmsKind kind : {NmsKind::Default, NmsKind::Greedy, NmsKind::Diou, NmsKind::Corners}) {
    if (name == nms_kind_name(kind)) return kind;
  }
  return std::nullopt;
}

std::string to_string(const Shape& shape) { return cat(shape.c, "x", shape.h, "x", shape.w); }

std::string_view activation_name(Activation activation) {
  return kActivationRows.at(static_cast<std::size_t>(activation)).name;
}

std::optional<Activation> activation_from_name(std::string_view name) {
  for (const ActivationRow& row : kActivationRows) {
    if (row.name == name) return row.activation;
  }
  return std::nullopt;
}

std::string activation_names_list() {
  std::string list;
  for (const ActivationRow& row : kActivationRows) {
    if (!list.empty()) list += ", ";
    list += row.name;
  }
  return list;
}

bool activation_mixes_channels(Activation activation) { return activation_row(activation).mixes_channels; }

int head_classes(const Layer& head) {
  return head.kind == LayerKind::Region ? head.as<RegionSpec>().classes : head.as<YoloSpec>().classes;
}

std::optional<LayerKind> layer_kind_from_section(std::string_view section) {
  for (std::size_t i = 0; i < static_cast<std::size_t>(LayerKind::Count); ++i) {
    const LayerKind kind = static_cast<LayerKind>(i);
    if (equals_ignoring_case(layer_kind_name(kind), section)) return kind;
  }
  for (const Alias& alias : kSectionAliases) {
    if (equals_ignoring_case(alias.section, section)) return alias.kind;
  }
  return std::nullopt;
}

bool is_network_section(std::string_view section) {
  return equals_ignoring_case(section, "net") || equals_ignoring_case(section, "network");
}

bool is_unsupported_section(std::string_view section) {
  for (const std::string_view name : kUnsupportedSections) {
    if (equals_ignoring_case(name, section)) return true;
  }
  return false;
}

}  // namespace dusk
