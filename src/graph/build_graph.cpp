// Cfg -> Graph: the [net] section gives the input, every later section one
// layer. Three passes: read every section's spec, work out the network's
// stride (so a bad input size gets its own message), then infer shapes.
#include <algorithm>
#include <limits>
#include <utility>

#include "dusk/error.hpp"
#include "dusk/graph.hpp"
#include "graph/graph_internal.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

Shape read_network_input(const Cfg& cfg, const GraphOptions& options, bool& letter_box,
                         std::vector<std::string>& warnings) {
  if (cfg.sections.empty()) {
    throw Error(cat(cfg.source, ": has no sections; a Darknet cfg starts with [net] and then lists its layers"));
  }
  const CfgSection& net = cfg.sections.front();
  if (!is_network_section(net.type)) {
    throw Error(cat(cfg.source, ":", net.line, ": the first section is [", printable(net.type),
                    "]; a Darknet cfg must start with [net]"));
  }
  SectionReader reader(cfg.source, net);
  Shape input;
  input.w = reader.get_int("width", 0, 0, std::numeric_limits<int>::max());
  input.h = reader.get_int("height", 0, 0, std::numeric_limits<int>::max());
  for (const auto& [key, side] : {std::pair{"width", input.w}, std::pair{"height", input.h}}) {
    if (side > kMaxInputSide) {
      throw Error({cat(reader.where(key), ": [net] ", key, "=", side, " is larger than dusk's limit of ", kMaxInputSide,
                       " (dusk::kMaxInputSide); give a smaller input size ("),
                   Option::InputSize, ")"});
    }
  }
  input.c = reader.get_int("channels", 3, 1, kMaxChannels);
  letter_box = reader.get_int("letter_box", 0, 0, std::numeric_limits<int>::max()) != 0;
  reader.collect_warnings(warnings);
  if (options.width < 0 || options.width > kMaxInputSide || options.height < 0 || options.height > kMaxInputSide) {
    throw Error(cat("input size ", options.width, "x", options.height, " is out of range; use 1..", kMaxInputSide,
                    " for each side (dusk::kMaxInputSide)"));
  }
  if (options.width > 0) input.w = options.width;
  if (options.height > 0) input.h = options.height;
  if (input.w == 0 || input.h == 0) {
    throw Error({cat(reader.where(), ": [net] gives no width= and height=; set them, or give the input size ("),
                 Option::InputSize, ")"});
  }
  return input;
}

void check_input_is_multiple_of_stride(const Graph& graph) {
  if (graph.head_layers().empty()) return;  // only detectors rely on it
  if (graph.input.w % graph.stride == 0 && graph.input.h % graph.stride == 0) return;
  const auto round_up = [&](int side) { return (side + graph.stride - 1) / graph.stride * graph.stride; };
  throw Error(cat(graph.source, ": input size ", graph.input.w, "x", graph.input.h,
                  " is not a multiple of the network's stride ", graph.stride, "; use e.g. ", round_up(graph.input.w),
                  "x", round_up(graph.input.h)));
}

// Layers are re-added one by one so each sees only those before it.
void infer_all_shapes(Graph& graph) {
  std::vector<Layer> layers = std::move(graph.layers);
  graph.layers.clear();
  for (Layer& layer : layers) {
    infer_shapes(layer, graph);
    graph.layers.push_back(std::move(layer));
  }
}

}  // namespace

std::vector<int> Graph::head_layers() const {
  std::vector<int> heads;
  for (const Layer& layer : layers) {
    if (is_detection_head(layer.kind)) heads.push_back(layer.index);
  }
  return heads;
}

int Graph::classes() const {
  const std::vector<int> heads = head_layers();
  return heads.empty() ? 0 : head_classes(layers[static_cast<std::size_t>(heads.back())]);
}

std::vector<int> Graph::last_readers() const {
  std::vector<int> last(layers.size(), -1);
  for (const Layer& layer : layers) {
    for (const int producer : layer.inputs) {
      if (producer >= 0) last[static_cast<std::size_t>(producer)] = layer.index;
    }
  }
  return last;
}

std::vector<int> Graph::reader_counts() const {
  std::vector<int> count(layers.size(), 0);
  for (const Layer& layer : layers) {
    for (const int producer : layer.inputs) {
      if (producer >= 0) ++count[static_cast<std::size_t>(producer)];
    }
  }
  return count;
}

std::int64_t Graph::peak_activation_bytes() const {
  std::vector<int> last_reader = last_readers();
  std::int64_t live = input.size();
  std::int64_t peak = live;
  for (const Layer& layer : layers) {
    live += layer.out.size();
    peak = std::max(peak, live);
    for (const int producer : layer.inputs) {
      if (producer >= 0 && last_reader[static_cast<std::size_t>(producer)] == layer.index) {
        live -= layers[static_cast<std::size_t>(producer)].out.size();
        last_reader[static_cast<std::size_t>(producer)] = -2;  // a layer may read a producer twice
      }
    }
    if (last_reader[static_cast<std::size_t>(layer.index)] == -1) live -= layer.out.size();
  }
  return peak * static_cast<std::int64_t>(sizeof(float));
}

std::int64_t Graph::total_params() const {
  std::int64_t total = 0;
  for (const Layer& layer : layers) total += layer.param_count;
  return total;
}

double Graph::total_bflops() const {
  double total = 0;
  for (const Layer& layer : layers) total += layer.bflops;
  return total;
}

std::string Graph::describe(int layer_index) const {
  if (layer_index < 0) return "the network input";
  const Layer& layer = layers.at(layer_index);
  return cat("layer ", layer.index, " [", layer_kind_name(layer.kind), "] (", source, ":", layer.line, ")");
}

Graph build_graph(const Cfg& cfg, const GraphOptions& options) {
  Graph graph;
  graph.source = cfg.source;
  graph.input = read_network_input(cfg, options, graph.letter_box, graph.warnings);

  const int layer_count = static_cast<int>(cfg.sections.size()) - 1;
  if (layer_count > kMaxLayers) {
    throw Error(cat(cfg.source, ": has ", layer_count, " layers, more than dusk's limit of ", kMaxLayers,
                    " (dusk::kMaxLayers); a genuine cfg this deep needs a rebuild with a larger limit"));
  }
  if (layer_count == 0) throw Error(cat(cfg.source, ": has a [net] section but no layers"));

  graph.layers.reserve(static_cast<std::size_t>(layer_count));
  for (int index = 0; index < layer_count; ++index) {
    const CfgSection& section = cfg.sections[static_cast<std::size_t>(index) + 1];
    const std::string where = cat(cfg.source, ":", section.line);
    const std::optional<LayerKind> kind = layer_kind_from_section(section.type);
    if (!kind) {
      if (is_network_section(section.type)) {
        throw Error(cat(where, ": a second [", section.type, "] section; only the first section may be [net]"));
      }
      if (is_unsupported_section(section.type)) {
        throw Error(cat(where, ": layer ", index, " [", section.type,
                        "] is not supported by dusk (training-era or recurrent layer); remove it or use Darknet"));
      }
      throw Error(cat(where, ": unknown section [", printable(section.type),
                      "]; expected a Darknet layer such as [convolutional], [route] or [yolo]"));
    }
    SectionReader reader(cfg.source, section);
    ParsedLayer parsed = parse_layer(*kind, reader, index);
    reader.collect_warnings(graph.warnings);

    Layer layer;
    layer.index = index;
    layer.kind = *kind;
    layer.line = section.line;
    layer.spec = std::move(parsed.spec);
    layer.inputs = std::move(parsed.inputs);
    graph.layers.push_back(std::move(layer));
  }

  std::vector<Downsampling> downsampling;
  downsampling.reserve(graph.layers.size());
  for (const Layer& layer : graph.layers) {
    downsampling.push_back(layer_downsampling(layer, downsampling));
    graph.stride = std::max({graph.stride, downsampling.back().x, downsampling.back().y});
  }
  check_input_is_multiple_of_stride(graph);

  infer_all_shapes(graph);
  return graph;
}

Graph with_input_size(const Graph& graph, int width, int height) {
  if (width < 1 || width > kMaxInputSide || height < 1 || height > kMaxInputSide) {
    throw Error(cat("input size ", width, "x", height, " is out of range; use 1..", kMaxInputSide, " for each side"));
  }
  Graph resized = graph;
  resized.input.w = width;
  resized.input.h = height;
  check_input_is_multiple_of_stride(resized);
  infer_all_shapes(resized);
  return resized;
}

Graph load_graph(const std::string& cfg_path, const GraphOptions& options) {
  return build_graph(load_cfg(cfg_path), options);
}

}  // namespace dusk
