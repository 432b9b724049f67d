#include "model_io.hpp"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>

#include "dusk/dusk.hpp"
#include "py_errors.hpp"

namespace dusk_python {

namespace {

py::tuple shape_tuple(const dusk::Shape& s) { return py::make_tuple(s.c, s.h, s.w); }

std::string name(dusk::Activation activation) { return std::string(dusk::activation_name(activation)); }

// One layer's spec as a dict of plain values, keys as the cfg spells them.
py::dict spec_dict(const dusk::Layer& layer) {
  py::dict d;
  std::visit(
      [&](const auto& spec) {
        using Spec = std::decay_t<decltype(spec)>;
        if constexpr (std::is_same_v<Spec, dusk::ConvSpec>) {
          d["filters"] = spec.filters;
          d["size"] = spec.size;
          d["stride_x"] = spec.stride_x;
          d["stride_y"] = spec.stride_y;
          d["pad"] = spec.pad;
          d["groups"] = spec.groups;
          d["dilation"] = spec.dilation;
          d["batch_normalize"] = spec.batch_normalize;
          d["activation"] = name(spec.activation);
        } else if constexpr (std::is_same_v<Spec, dusk::ConnectedSpec>) {
          d["output"] = spec.outputs;
          d["batch_normalize"] = spec.batch_normalize;
          d["activation"] = name(spec.activation);
        } else if constexpr (std::is_same_v<Spec, dusk::PoolSpec>) {
          d["size"] = spec.size;
          d["stride_x"] = spec.stride_x;
          d["stride_y"] = spec.stride_y;
          d["padding"] = spec.padding;
          d["maxpool_depth"] = spec.maxpool_depth;
          d["out_channels"] = spec.out_channels;
        } else if constexpr (std::is_same_v<Spec, dusk::RouteSpec>) {
          d["layers"] = spec.layers;
          d["groups"] = spec.groups;
          d["group_id"] = spec.group_id;
        } else if constexpr (std::is_same_v<Spec, dusk::ShortcutSpec>) {
          d["from"] = spec.from;
          d["activation"] = name(spec.activation);
          const char* weights[] = {"none", "per_feature", "per_channel"};
          const char* normalization[] = {"none", "relu", "softmax"};
          d["weights_type"] = weights[static_cast<int>(spec.weights_type)];
          d["weights_normalization"] = normalization[static_cast<int>(spec.normalization)];
        } else if constexpr (std::is_same_v<Spec, dusk::UpsampleSpec>) {
          d["stride"] = spec.stride;
          d["downsample"] = spec.downsample;
          d["scale"] = spec.scale;
        } else if constexpr (std::is_same_v<Spec, dusk::ReorgSpec>) {
          d["stride"] = spec.stride;
          d["reverse"] = spec.reverse;
        } else if constexpr (std::is_same_v<Spec, dusk::YoloSpec>) {
          d["classes"] = spec.classes;
          d["mask"] = spec.mask;
          d["anchors"] = spec.anchors;
          d["scale_x_y"] = spec.scale_x_y;
          d["new_coords"] = spec.new_coords;
        } else if constexpr (std::is_same_v<Spec, dusk::RegionSpec>) {
          d["classes"] = spec.classes;
          d["coords"] = spec.coords;
          d["num"] = spec.num;
          d["softmax"] = spec.softmax;
        } else if constexpr (std::is_same_v<Spec, dusk::ScaleSpec>) {
          d["from"] = spec.from;
          d["scale_wh"] = spec.scale_wh;
          d["activation"] = name(spec.activation);
        } else if constexpr (std::is_same_v<Spec, dusk::SoftmaxSpec>) {
          d["groups"] = spec.groups;
          d["temperature"] = spec.temperature;
        } else if constexpr (std::is_same_v<Spec, dusk::ActivationSpec>) {
          d["activation"] = name(spec.activation);
        } else if constexpr (std::is_same_v<Spec, dusk::CropSpec>) {
          d["width"] = spec.width;
          d["height"] = spec.height;
          d["scale"] = spec.scale;
          d["shift"] = spec.shift;
        }
      },
      layer.spec);
  return d;
}

py::dict graph_dict(const std::string& cfg, int width, int height) {
  const dusk::Graph graph = without_gil(Stage::Cfg, [&] { return dusk::load_graph(cfg, dusk::GraphOptions{width, height}); });
  py::list layers;
  for (const dusk::Layer& layer : graph.layers) {
    py::dict row;
    row["index"] = layer.index;
    row["kind"] = std::string(dusk::layer_kind_name(layer.kind));
    row["line"] = layer.line;
    row["inputs"] = layer.inputs;
    row["input"] = shape_tuple(layer.in);
    row["output"] = shape_tuple(layer.out);
    row["spec"] = spec_dict(layer);
    row["describe"] = graph.describe(layer.index);
    layers.append(row);
  }
  py::dict out;
  out["source"] = graph.source;
  out["input"] = shape_tuple(graph.input);
  out["letter_box"] = graph.letter_box;
  out["heads"] = graph.head_layers();
  out["layers"] = layers;
  return out;
}

py::dict header_dict(const dusk::WeightsHeader& header) {
  py::dict d;
  d["major"] = header.major;
  d["minor"] = header.minor;
  d["revision"] = header.revision;
  d["seen"] = header.seen;
  return d;
}

// (header, per layer {block: float32 array}) in file order; BatchNorm not
// folded, matrices as the engine holds them (a flipped kernel untransposed).
py::tuple read_blocks(const std::string& cfg, const std::string& weights) {
  const dusk::Graph graph = without_gil(Stage::Cfg, [&] { return dusk::load_graph(cfg); });
  dusk::Weights read = without_gil(Stage::Weights, [&] { return dusk::read_weights(weights, graph); });
  py::list layers;
  for (const dusk::Layer& layer : graph.layers) {
    dusk::LayerParams& params = read.layers[static_cast<std::size_t>(layer.index)];
    py::dict blocks;
    for (const dusk::BlockSize& block : dusk::param_layout(layer)) {
      const std::vector<float>& values = params.block(block.block);
      py::array_t<float> array(static_cast<py::ssize_t>(values.size()));
      std::memcpy(array.mutable_data(), values.data(), values.size() * sizeof(float));
      blocks[dusk::block_name(block.block)] = array;
    }
    layers.append(blocks);
  }
  return py::make_tuple(header_dict(read.header), layers);
}

void write_blocks(const std::string& cfg, const std::string& path, const py::dict& header, const py::list& layers) {
  const dusk::Graph graph = without_gil(Stage::Cfg, [&] { return dusk::load_graph(cfg); });
  if (static_cast<std::size_t>(py::len(layers)) != graph.layers.size()) {
    raise(Stage::Weights, "got parameters for " + std::to_string(py::len(layers)) + " layers but " + cfg + " has " +
                              std::to_string(graph.layers.size()));
  }
  dusk::Weights weights;
  weights.header.major = header["major"].cast<std::int32_t>();
  weights.header.minor = header["minor"].cast<std::int32_t>();
  weights.header.revision = header["revision"].cast<std::int32_t>();
  weights.header.seen = header["seen"].cast<std::uint64_t>();
  weights.layers.resize(graph.layers.size());
  for (const dusk::Layer& layer : graph.layers) {
    const py::dict blocks = layers[static_cast<std::size_t>(layer.index)].cast<py::dict>();
    for (const dusk::BlockSize& block : dusk::param_layout(layer)) {
      const char* key = dusk::block_name(block.block);
      if (!blocks.contains(key)) raise(Stage::Weights, graph.describe(layer.index) + " has no '" + key + "' block");
      const auto array = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(blocks[key]);
      if (!array) raise(Stage::Weights, graph.describe(layer.index) + ": '" + key + "' is not an array of numbers");
      std::vector<float>& values = weights.layers[static_cast<std::size_t>(layer.index)].block(block.block);
      values.assign(array.data(), array.data() + array.size());
    }
  }
  without_gil(Stage::Weights, [&] {
    dusk::write_weights(path, graph, weights);  // checks every block's size against the graph
    return 0;
  });
}

// Seeded random parameters for cfg (dusk's random_weights, what "-" stands
// for on the command line), written as a weights file.
void write_random_weights(const std::string& cfg, const std::string& path, std::uint64_t seed) {
  const dusk::Graph graph = without_gil(Stage::Cfg, [&] { return dusk::load_graph(cfg); });
  without_gil(Stage::Weights, [&] {
    dusk::write_weights(path, graph, dusk::random_weights(graph, seed));
    return 0;
  });
}

py::dict adapt_bn(const std::string& cfg, const std::string& weights, const std::vector<std::string>& images,
                  const std::string& out, int batch, std::optional<double> momentum, bool letterbox, int threads) {
  dusk::AdaptBnOptions options;
  options.batch = batch;
  options.momentum = momentum;
  options.letterbox = letterbox;
  options.threads = threads;
  const dusk::AdaptBnResult result =
      without_gil(Stage::General, [&] { return dusk::adapt_batchnorm(cfg, weights, images, out, options); });
  py::dict d;
  d["images"] = result.images;
  d["batches"] = result.batches;
  d["layers"] = result.layers;
  d["skipped"] = result.skipped;
  d["seen"] = result.seen;
  return d;
}

}  // namespace

void add_model_io(py::module_& m) {
  m.def("graph", &graph_dict);
  m.def("read_weights", &read_blocks);
  m.def("write_weights", &write_blocks);
  m.def("adapt_bn", &adapt_bn);
  m.def("write_random_weights", &write_random_weights);
}

}  // namespace dusk_python
