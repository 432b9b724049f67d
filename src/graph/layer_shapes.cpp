// Shape inference and validation: what each layer receives and produces,
// how many parameters it reads and how many BFLOPs Darknet counts for it.
#include <algorithm>

#include "dusk/error.hpp"
#include "graph/graph_internal.hpp"
#include "graph/layer_kind_table.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

class ShapeChecker {
 public:
  ShapeChecker(const Layer& layer, const Graph& graph) : layer_(layer), graph_(graph) {}

  Shape input(int producer) const { return producer < 0 ? graph_.input : graph_.layers.at(producer).out; }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(cat(graph_.source, ":", layer_.line, ": layer ", layer_.index, " [",
                    layer_kind_name(layer_.kind), "] ", what));
  }

  std::string producer_name(int producer) const {
    return producer < 0 ? std::string("the network input") : graph_.describe(producer);
  }

  void require_spatial(const Shape& in) const {
    if (in.h < 1 || in.w < 1 || in.c < 1) fail(cat("needs an image-shaped input but gets ", to_string(in)));
  }

 private:
  const Layer& layer_;
  const Graph& graph_;
};

// Output size of a sliding window, as Darknet computes it (floor division).
int window_output(int in, int total_padding, int size, int stride) { return (in + total_padding - size) / stride + 1; }

Shape infer_convolutional(const Layer& layer, const ShapeChecker& check, const Shape& in) {
  const ConvSpec& spec = layer.as<ConvSpec>();
  check.require_spatial(in);
  if (in.c % spec.groups != 0) {
    check.fail(cat("groups=", spec.groups, " does not divide its ", in.c, " input channels; use a divisor of ", in.c));
  }
  Shape out{spec.filters, window_output(in.h, 2 * spec.pad, spec.size, spec.stride_y),
            window_output(in.w, 2 * spec.pad, spec.size, spec.stride_x)};
  if (spec.dilation > 1) {
    // Darknet sizes the output without dilation but pads by pad*dilation;
    // the two agree only when padding keeps a dilated window inside.
    const int span = spec.dilation * (spec.size - 1) + 1;
    const int dilated_h = window_output(in.h, 2 * spec.pad * spec.dilation, span, spec.stride_y);
    const int dilated_w = window_output(in.w, 2 * spec.pad * spec.dilation, span, spec.stride_x);
    if (dilated_h != out.h || dilated_w != out.w) {
      check.fail(cat("dilation=", spec.dilation, " with size=", spec.size, " and padding ", spec.pad,
                     " gives inconsistent output sizes in Darknet; use pad=1 with an odd size"));
    }
  }
  if (out.h < 1 || out.w < 1) {
    check.fail(cat("kernel ", spec.size, " with stride ", spec.stride_x, " does not fit its ", to_string(in),
                   " input; use a larger input size"));
  }
  return out;
}

Shape infer_pool(const Layer& layer, const ShapeChecker& check, const Shape& in) {
  const PoolSpec& spec = layer.as<PoolSpec>();
  check.require_spatial(in);
  if (spec.maxpool_depth) return Shape{spec.out_channels, in.h, in.w};
  const Shape out{in.c, window_output(in.h, spec.padding, spec.size, spec.stride_y),
                  window_output(in.w, spec.padding, spec.size, spec.stride_x)};
  if (out.h < 1 || out.w < 1) {
    check.fail(cat("window ", spec.size, " with stride ", spec.stride_x, " does not fit its ", to_string(in),
                   " input; use a larger input size"));
  }
  return out;
}

Shape infer_route(const Layer& layer, const ShapeChecker& check, const Graph& graph) {
  const RouteSpec& spec = layer.as<RouteSpec>();
  const Shape first = check.input(spec.layers.front());
  Shape out{0, first.h, first.w};
  for (const int producer : spec.layers) {
    const Shape shape = check.input(producer);
    if (shape.h != first.h || shape.w != first.w) {
      check.fail(cat("concatenates ", check.producer_name(spec.layers.front()), " (", to_string(first), ") with ",
                     check.producer_name(producer), " (", to_string(shape),
                     "), whose heights and widths differ; the input size may not be a multiple of the network's "
                     "stride ", graph.stride, ", or layers= points to the wrong layers"));
    }
    if (shape.c % spec.groups != 0) {
      check.fail(cat("groups=", spec.groups, " does not divide the ", shape.c, " channels of ",
                     check.producer_name(producer), "; use a divisor of ", shape.c));
    }
    out.c += shape.c / spec.groups;
  }
  return out;
}

}  // namespace

ShortcutSampling shortcut_sampling(const Shape& from, const Shape& out) {
  ShortcutSampling s;
  s.stride = std::max(1, from.w / out.w);
  s.step = std::max(1, out.w / from.w);
  s.valid = from.w / out.w == from.h / out.h && out.w / from.w == out.h / from.h;
  s.h = std::min(from.h, out.h);
  s.w = std::min(from.w, out.w);
  return s;
}

namespace {

Shape infer_shortcut(const Layer& layer, const ShapeChecker& check, const Shape& in) {
  const ShortcutSpec& spec = layer.as<ShortcutSpec>();
  for (const int producer : spec.from) {
    const Shape shape = check.input(producer);
    if (shape.h == in.h && shape.w == in.w) continue;
    // Darknet (pjreddie's shortcut_cpu, the ResNet cfgs) samples a larger
    // source with a stride or spreads a smaller one with a step, the same
    // whole factor in both directions; its multi-source form does neither.
    const ShortcutSampling sampling = shortcut_sampling(shape, in);
    if (spec.from.size() != 1 || spec.weights_type != ShortcutWeights::None || !sampling.valid) {
      check.fail(cat("adds ", check.producer_name(producer), " (", to_string(shape), ") to its ", to_string(in),
                     " input; heights and widths must match, or (one source, no weights) differ by the same whole "
                     "factor in both directions, so check from="));
    }
  }
  return in;
}

Shape infer_crop(const Layer& layer, const ShapeChecker& check, const Shape& in) {
  const CropSpec& spec = layer.as<CropSpec>();
  check.require_spatial(in);
  if (spec.height > in.h || spec.width > in.w) {
    check.fail(cat("crops ", spec.width, "x", spec.height, " from its ", to_string(in),
                   " input; crop_width and crop_height must not exceed the input's width and height"));
  }
  return Shape{in.c, spec.height, spec.width};
}

Shape infer_upsample(const Layer& layer, const ShapeChecker& check, const Shape& in) {
  const UpsampleSpec& spec = layer.as<UpsampleSpec>();
  check.require_spatial(in);
  if (!spec.downsample) return Shape{in.c, in.h * spec.stride, in.w * spec.stride};
  if (in.h % spec.stride != 0 || in.w % spec.stride != 0) {
    check.fail(cat("cannot downsample ", to_string(in), " by ", spec.stride,
                   "; height and width must be multiples of the stride"));
  }
  return Shape{in.c, in.h / spec.stride, in.w / spec.stride};
}

Shape infer_reorg(const Layer& layer, const ShapeChecker& check, const Shape& in) {
  const ReorgSpec& spec = layer.as<ReorgSpec>();
  check.require_spatial(in);
  const int area = spec.stride * spec.stride;
  if (spec.reverse) {
    if (in.c % area != 0 || (layer.kind == LayerKind::Reorg3d && (in.c / area) % area != 0)) {
      check.fail(cat("reverse reorg by ", spec.stride, " needs input channels divisible by ",
                     layer.kind == LayerKind::Reorg3d ? area * area : area, " but has ", in.c));
    }
    return Shape{in.c / area, in.h * spec.stride, in.w * spec.stride};
  }
  if (in.h % spec.stride != 0 || in.w % spec.stride != 0 || (layer.kind == LayerKind::Reorg && in.c % area != 0)) {
    check.fail(cat("reorg by ", spec.stride, " needs height and width divisible by ", spec.stride,
                   layer.kind == LayerKind::Reorg ? cat(" and channels by ", area) : std::string(), " but gets ",
                   to_string(in)));
  }
  return Shape{in.c * area, in.h / spec.stride, in.w / spec.stride};
}

// The most common Darknet mistake: the conv before a head keeps the filters
// of another class count.
void check_head_channels(const Layer& layer, const ShapeChecker& check, const Graph& graph, const Shape& in,
                         std::int64_t expected, const std::string& formula) {
  if (in.c == expected) return;
  const int producer = layer.inputs.front();
  std::string fix;
  if (producer >= 0 && graph.layers[producer].kind == LayerKind::Convolutional) {
    fix = cat("; set filters=", expected, " in ", graph.describe(producer));
  }
  check.fail(cat("expects ", expected, " = ", formula, " input channels, but ", check.producer_name(producer),
                 " gives ", in.c, fix));
}

Shape infer_head(const Layer& layer, const ShapeChecker& check, const Graph& graph, const Shape& in) {
  check.require_spatial(in);
  if (layer.kind == LayerKind::Region) {
    const RegionSpec& spec = layer.as<RegionSpec>();
    check_head_channels(layer, check, graph, in, std::int64_t{spec.num} * (spec.classes + spec.coords + 1),
                        cat("num ", spec.num, " x (classes ", spec.classes, " + coords ", spec.coords, " + 1)"));
    return in;
  }
  const YoloSpec& spec = layer.as<YoloSpec>();
  const int per_anchor = layer.kind == LayerKind::GaussianYolo ? 9 : 5;
  const int masks = static_cast<int>(spec.mask.size());
  check_head_channels(layer, check, graph, in, std::int64_t{masks} * (spec.classes + per_anchor),
                      cat(masks, " masks x (classes ", spec.classes, " + ", per_anchor, ")"));
  return in;
}

Shape infer_scale(const Layer& layer, const ShapeChecker& check, const Shape& in) {
  const ScaleSpec& spec = layer.as<ScaleSpec>();
  const Shape from = check.input(spec.from);
  const std::string pair = cat(to_string(in), " input and ", check.producer_name(spec.from), " (", to_string(from), ")");
  if (layer.kind == LayerKind::Sam) {
    if (from != in) check.fail(cat("multiplies element-wise, so shapes must match: ", pair));
  } else if (spec.scale_wh) {
    if (in.c != 1 || in.h != from.h || in.w != from.w) check.fail(cat("with scale_wh=1 needs a 1xHxW input: ", pair));
  } else if (in.h != 1 || in.w != 1 || in.c != from.c) {
    check.fail(cat("needs a Cx1x1 input with the channels of from=: ", pair));
  }
  return from;
}

Shape infer_softmax(const Layer& layer, const ShapeChecker& check, const Shape& in) {
  const SoftmaxSpec& spec = layer.as<SoftmaxSpec>();
  if (in.size() % spec.groups != 0) {
    check.fail(cat("groups=", spec.groups, " does not divide its ", in.size(), " inputs"));
  }
  return in;
}

}  // namespace

void infer_shapes(Layer& layer, const Graph& graph) {
  const ShapeChecker check(layer, graph);
  const Shape in = check.input(layer.inputs.front());
  layer.in = in;
  switch (layer.kind) {
    case LayerKind::Convolutional: layer.out = infer_convolutional(layer, check, in); break;
    case LayerKind::Connected: layer.out = Shape{layer.as<ConnectedSpec>().outputs, 1, 1}; break;
    case LayerKind::Maxpool:
    case LayerKind::LocalAvgpool: layer.out = infer_pool(layer, check, in); break;
    case LayerKind::Avgpool: layer.out = Shape{in.c, 1, 1}; break;
    case LayerKind::Route: layer.out = infer_route(layer, check, graph); break;
    case LayerKind::Shortcut: layer.out = infer_shortcut(layer, check, in); break;
    case LayerKind::Upsample: layer.out = infer_upsample(layer, check, in); break;
    case LayerKind::Reorg:
    case LayerKind::Reorg3d: layer.out = infer_reorg(layer, check, in); break;
    case LayerKind::Yolo:
    case LayerKind::GaussianYolo:
    case LayerKind::Region: layer.out = infer_head(layer, check, graph, in); break;
    case LayerKind::Sam:
    case LayerKind::ScaleChannels: layer.out = infer_scale(layer, check, in); break;
    case LayerKind::Softmax: layer.out = infer_softmax(layer, check, in); break;
    case LayerKind::Crop: layer.out = infer_crop(layer, check, in); break;
    case LayerKind::Dropout:
    case LayerKind::Cost:
    case LayerKind::Batchnorm:
    case LayerKind::Activation:
    case LayerKind::Empty:
    case LayerKind::Count: layer.out = in; break;
  }
  if (layer.out.size() > kMaxLayerElements) {
    check.fail(cat("would produce ", to_string(layer.out), " = ", layer.out.size(), " floats, more than the limit of ",
                   kMaxLayerElements, "; use a smaller input size"));
  }
  layer.param_count = 0;
  for (const BlockSize& block : param_layout(layer)) layer.param_count += block.floats;
  const LayerKindRow& row = layer_kind_row(layer.kind);
  layer.bflops = row.bflops != nullptr ? row.bflops(layer) : 0.0;
}

Downsampling layer_downsampling(const Layer& layer, const std::vector<Downsampling>& earlier) {
  const auto at = [&](int producer) { return producer < 0 ? Downsampling{} : earlier.at(producer); };
  const Downsampling in = at(layer.inputs.front());
  // Saturating: a cfg can stack strides far past any input size.
  const auto times = [](int a, int b) { return static_cast<int>(std::min<std::int64_t>(std::int64_t{a} * b, 1 << 30)); };
  const auto scaled = [&](int sx, int sy) { return Downsampling{times(in.x, sx), times(in.y, sy)}; };
  switch (layer.kind) {
    case LayerKind::Convolutional: return scaled(layer.as<ConvSpec>().stride_x, layer.as<ConvSpec>().stride_y);
    case LayerKind::Maxpool:
    case LayerKind::LocalAvgpool: {
      const PoolSpec& spec = layer.as<PoolSpec>();
      return spec.maxpool_depth ? in : scaled(spec.stride_x, spec.stride_y);
    }
    case LayerKind::Reorg:
    case LayerKind::Reorg3d:
    case LayerKind::Upsample: {
      const bool shrinks = layer.kind == LayerKind::Upsample ? layer.as<UpsampleSpec>().downsample
                                                             : !layer.as<ReorgSpec>().reverse;
      const int stride = layer.kind == LayerKind::Upsample ? layer.as<UpsampleSpec>().stride
                                                           : layer.as<ReorgSpec>().stride;
      if (shrinks) return scaled(stride, stride);
      return Downsampling{std::max(1, in.x / stride), std::max(1, in.y / stride)};
    }
    case LayerKind::Connected:
    case LayerKind::Avgpool:
    case LayerKind::Route:
    case LayerKind::Shortcut:
    case LayerKind::Yolo:
    case LayerKind::GaussianYolo:
    case LayerKind::Region:
    case LayerKind::Dropout:
    case LayerKind::Cost:
    case LayerKind::Sam:
    case LayerKind::ScaleChannels:
    case LayerKind::Softmax:
    case LayerKind::Batchnorm:
    case LayerKind::Activation:
    case LayerKind::Empty:
    case LayerKind::Crop:
    case LayerKind::Count:
      return in;
  }
  return in;
}

}  // namespace dusk
