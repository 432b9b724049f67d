#pragma once
// Pieces of graph building shared between the files of src/graph.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cfg/section_reader.hpp"
#include "dusk/graph.hpp"

namespace dusk {

std::optional<LayerKind> layer_kind_from_section(std::string_view section);
bool is_network_section(std::string_view section);
bool is_unsupported_section(std::string_view section);
std::string activation_names_list();

// What a section says, before any shape is known.
struct ParsedLayer {
  LayerSpec spec;
  std::vector<int> inputs;  // resolved; -1 is the network input
};

// Reads the options of a section of `kind` that is layer `index`; resolves
// relative layer references. Throws dusk::Error naming file:line.
ParsedLayer parse_layer(LayerKind kind, SectionReader& reader, int index);

// Computes layer.in, layer.out, param_count and bflops from the layers before
// it in `graph`, checking that they fit together.
void infer_shapes(Layer& layer, const Graph& graph);

// How much a layer's output is downsampled from the network input, per axis.
struct Downsampling {
  int x = 1;
  int y = 1;
};
Downsampling layer_downsampling(const Layer& layer, const std::vector<Downsampling>& earlier);

}  // namespace dusk
