// Lowers each Darknet layer to standard ONNX operators with Darknet's exact
// semantics; parameters are BatchNorm-folded as the engine folds them.
#include <onnx/checker.h>

#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "dusk/calibration.hpp"
#include "dusk/error.hpp"
#include "dusk/export.hpp"
#include "engine/fold.hpp"
#include "export/onnx_builder.hpp"
#include "graph/activation_table.hpp"
#include "export/onnx_decode.hpp"
#include "export/onnx_int8.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

using onnx_export::attr;
using onnx_export::GraphBuilder;
using I64 = std::vector<std::int64_t>;

class Lowering {
 public:
  Lowering(const Graph& graph, const Weights& weights, GraphBuilder& b, std::string input,
           onnx_export::Int8Quantizer* int8)
      : graph_(graph), weights_(weights), b_(b), input_(std::move(input)), int8_(int8) {}

  // Returns the name of the layer's output tensor.
  std::string lower(const Layer& layer, const std::vector<std::string>& produced) {
    index_ = layer.index;
    tag_ = cat("l", layer.index, "_", layer_kind_name(layer.kind));
    const auto input = [&](std::size_t i) {
      const int from = layer.inputs[i];
      return from < 0 ? input_ : produced[static_cast<std::size_t>(from)];
    };
    const std::string x = input(0);
    switch (layer.kind) {
      case LayerKind::Convolutional: return convolution(layer, x);
      case LayerKind::Connected: return connected(layer, x);
      case LayerKind::Maxpool: return pool(layer, x, "MaxPool");
      case LayerKind::LocalAvgpool: return pool(layer, x, "AveragePool");
      case LayerKind::Avgpool: return b_.node("GlobalAveragePool", {x}, tag_);
      case LayerKind::Route: return route(layer, input);
      case LayerKind::Shortcut: return shortcut(layer, input);
      case LayerKind::Upsample: return upsample(layer, x);
      case LayerKind::Reorg:
      case LayerKind::Reorg3d: return reorg(layer, x);
      case LayerKind::Yolo:
      case LayerKind::GaussianYolo:
      case LayerKind::Region: return head(layer, x);
      case LayerKind::Sam:
      case LayerKind::ScaleChannels:
        return activation(b_.node("Mul", {x, input(1)}, tag_), layer.as<ScaleSpec>().activation);
      case LayerKind::Softmax: return softmax(layer, x);
      case LayerKind::Batchnorm: {
        const FoldedLayer folded = fold();
        const I64 dims = {1, layer.out.c, 1, 1};
        const std::string scaled = b_.node("Mul", {x, b_.floats(tag_ + "_scale", folded.scales, dims)}, tag_ + "_mul");
        return b_.node("Add", {scaled, b_.floats(tag_ + "_shift", folded.biases, dims)}, tag_);
      }
      case LayerKind::Activation: return activation(x, layer.as<ActivationSpec>().activation);
      case LayerKind::Crop: return crop(layer, x);
      case LayerKind::Dropout:
      case LayerKind::Cost:
      case LayerKind::Empty: return x;
      case LayerKind::Count: break;
    }
    refuse("this layer kind has no ONNX form");
  }

 private:
  [[noreturn]] void refuse(const std::string& why) const {
    throw Error(cat("cannot export ", graph_.describe(index_), " to ONNX: ", why));
  }

  FoldedLayer fold() const {
    const Layer& layer = graph_.layers[static_cast<std::size_t>(index_)];
    return fold_layer(layer, weights_.layers[static_cast<std::size_t>(index_)], graph_.source);
  }

  std::string scalar_op(const char* op, const std::string& x, float value, const std::string& hint) {
    return b_.node(op, {x, b_.scalar(hint + "_k", value)}, hint);
  }

  std::string clip(const std::string& x, float low, float high, const std::string& hint) {
    return b_.node("Clip", {x, b_.scalar(hint + "_min", low), b_.scalar(hint + "_max", high)}, hint);
  }

  // Darknet's activations, from standard operators where ONNX has none.
  std::string activation(const std::string& x, Activation a) {
    const std::string t = tag_ + "_" + std::string(activation_name(a));
    switch (a) {
      case Activation::Linear: return x;
      case Activation::Leaky:
      case Activation::Revleaky:
      case Activation::Relie: return b_.node("LeakyRelu", {x}, t, {attr("alpha", activation_row(a).negative_slope)});
      case Activation::Relu: return b_.node("Relu", {x}, t);
      case Activation::Relu6: return clip(x, 0.f, 6.f, t);
      case Activation::Hardtan: return clip(x, -1.f, 1.f, t);
      case Activation::Logistic: return b_.node("Sigmoid", {x}, t);
      case Activation::Tanh: return b_.node("Tanh", {x}, t);
      case Activation::Elu: return b_.node("Elu", {x}, t, {attr("alpha", 1.0f)});
      case Activation::Selu: return b_.node("Selu", {x}, t, {attr("alpha", 1.6732f), attr("gamma", 1.0507f)});
      case Activation::Swish: return b_.node("Mul", {x, b_.node("Sigmoid", {x}, t + "_sigmoid")}, t);
      case Activation::Mish: {
        const std::string softplus = b_.node("Softplus", {x}, t + "_softplus");
        return b_.node("Mul", {x, b_.node("Tanh", {softplus}, t + "_tanh")}, t);
      }
      case Activation::HardMish: {  // x * clip(x + 2, 0, 2) / 2
        const std::string gate = clip(scalar_op("Add", x, 2.f, t + "_plus2"), 0.f, 2.f, t + "_clip");
        return b_.node("Mul", {x, scalar_op("Mul", gate, 0.5f, t + "_half")}, t);
      }
      case Activation::Ramp:
        return b_.node("Add", {b_.node("Relu", {x}, t + "_relu"), scalar_op("Mul", x, 0.1f, t + "_tenth")}, t);
      case Activation::Plse: {  // 0.125 clip(x,-4,4) + 0.5 + 0.01 (x - clip(x,-4,4))
        const std::string c = clip(x, -4.f, 4.f, t + "_clip");
        const std::string middle = scalar_op("Add", scalar_op("Mul", c, 0.125f, t + "_slope"), 0.5f, t + "_mid");
        const std::string tails = scalar_op("Mul", b_.node("Sub", {x, c}, t + "_out"), 0.01f, t + "_tails");
        return b_.node("Add", {middle, tails}, t);
      }
      case Activation::Lhtan: {  // clip(x,0,1) + 0.001 (x - clip(x,0,1))
        const std::string c = clip(x, 0.f, 1.f, t + "_clip");
        const std::string tails = scalar_op("Mul", b_.node("Sub", {x, c}, t + "_out"), 0.001f, t + "_tails");
        return b_.node("Add", {c, tails}, t);
      }
      case Activation::Loggy:
        return scalar_op("Sub", scalar_op("Mul", b_.node("Sigmoid", {x}, t + "_sigmoid"), 2.f, t + "_twice"), 1.f, t);
      case Activation::Gelu: {  // 0.5 x (1 + tanh(0.797885 x + 0.035677 x^3))
        const std::string cube = b_.node("Mul", {x, b_.node("Mul", {x, x}, t + "_sq")}, t + "_cube");
        const std::string inner =
            b_.node("Add", {scalar_op("Mul", x, 0.797885f, t + "_lin"), scalar_op("Mul", cube, 0.035677f, t + "_cub")}, t + "_in");
        const std::string gate = scalar_op("Add", b_.node("Tanh", {inner}, t + "_tanh"), 1.f, t + "_gate");
        return b_.node("Mul", {scalar_op("Mul", x, 0.5f, t + "_halfx"), gate}, t);
      }
      case Activation::Stair: {  // floor(x/2), plus x - floor(x) where floor(x) is odd (C's fmod)
        const std::string n = b_.node("Floor", {x}, t + "_floor");
        const std::string half = b_.node("Floor", {scalar_op("Mul", x, 0.5f, t + "_half")}, t + "_half_floor");
        const std::string parity = b_.node("Mod", {n, b_.scalar(t + "_two", 2.f)}, t + "_parity", {attr("fmod", std::int64_t{1})});
        const std::string even = b_.node("Equal", {parity, b_.scalar(t + "_zero", 0.f)}, t + "_even");
        const std::string odd = b_.node("Add", {b_.node("Sub", {x, n}, t + "_frac"), half}, t + "_odd");
        return b_.node("Where", {even, half, odd}, t);
      }
      case Activation::NormalizeChannels: {  // positive parts over their sum across channels (+0.0001)
        const std::string positive = b_.node("Relu", {x}, t + "_positive");
        return b_.node("Div", {positive, channel_sum(positive, t)}, t);
      }
      case Activation::NormalizeChannelsSoftmax:
      case Activation::NormalizeChannelsSoftmaxMaxval: {  // exp over its sum across channels (+0.0001)
        std::string shifted = x;
        if (a == Activation::NormalizeChannelsSoftmaxMaxval) {
          const std::string max = b_.node("ReduceMax", {x}, t + "_max", {attr("axes", I64{1}), attr("keepdims", std::int64_t{1})});
          shifted = b_.node("Sub", {x, max}, t + "_shifted");
        }
        const std::string e = b_.node("Exp", {shifted}, t + "_exp");
        return b_.node("Div", {e, channel_sum(e, t)}, t);
      }
      case Activation::Count: break;
    }
    refuse(cat("activation ", activation_name(a), " is not exported (no exact form from standard operators)"));
  }

  // Darknet's per-pixel channel sum for its normalize_channels family, 0.0001 added.
  std::string channel_sum(const std::string& x, const std::string& t) {
    const std::string sum = b_.node("ReduceSum", {x, b_.ints(t + "_axes", {1})}, t + "_sum", {attr("keepdims", std::int64_t{1})});
    return scalar_op("Add", sum, 0.0001f, t + "_sum_eps");
  }

  std::string convolution(const Layer& layer, const std::string& x) {
    const ConvSpec& spec = layer.as<ConvSpec>();
    const FoldedLayer folded = fold();
    const std::vector<onnx_export::Attribute> attributes = {
        attr("kernel_shape", I64{spec.size, spec.size}), attr("strides", I64{spec.stride_y, spec.stride_x}),
        attr("pads", I64{spec.pad, spec.pad, spec.pad, spec.pad}), attr("dilations", I64{spec.dilation, spec.dilation}),
        attr("group", std::int64_t{spec.groups})};
    if (int8_ != nullptr && int8_->runs_int8(layer.index)) {
      return int8_->convolution(layer, folded, x, attributes,
                                [&](const std::string& sums) { return activation(sums, spec.activation); });
    }
    const std::string w = b_.floats(tag_ + "_w", folded.weights, {spec.filters, layer.in.c / spec.groups, spec.size, spec.size});
    const std::string bias = b_.floats(tag_ + "_b", folded.biases, {spec.filters});
    return activation(b_.node("Conv", {x, w, bias}, tag_, attributes), spec.activation);
  }

  std::string connected(const Layer& layer, const std::string& x) {
    const ConnectedSpec& spec = layer.as<ConnectedSpec>();
    const FoldedLayer folded = fold();
    const std::string flat = b_.node("Flatten", {x}, tag_ + "_flat", {attr("axis", std::int64_t{1})});
    const std::string w = b_.floats(tag_ + "_w", folded.weights, {spec.outputs, layer.in.size()});
    const std::string bias = b_.floats(tag_ + "_b", folded.biases, {spec.outputs});
    const std::string y = b_.node("Gemm", {flat, w, bias}, tag_ + "_gemm", {attr("transB", std::int64_t{1})});
    const std::string shaped = b_.node("Reshape", {y, b_.ints(tag_ + "_shape", {-1, spec.outputs, 1, 1})}, tag_);
    return activation(shaped, spec.activation);
  }

  // Darknet pads `padding` in all, padding/2 before; cells outside are skipped.
  std::string pool(const Layer& layer, const std::string& x, const char* op) {
    const PoolSpec& spec = layer.as<PoolSpec>();
    if (spec.maxpool_depth) return maxpool_depth(layer, x);
    const std::int64_t before = spec.padding / 2;
    const std::int64_t after = spec.padding - before;
    std::vector<onnx_export::Attribute> attributes = {attr("kernel_shape", I64{spec.size, spec.size}),
                                                      attr("strides", I64{spec.stride_y, spec.stride_x}),
                                                      attr("pads", I64{before, before, after, after})};
    if (std::string(op) == "AveragePool") attributes.push_back(attr("count_include_pad", std::int64_t{0}));
    return b_.node(op, {x}, tag_, attributes);
  }

  // out[g] = max over channels k = g, g + G, g + 2G, ... (G output channels):
  // pad the channels to a multiple of G with the lowest float, group, reduce.
  std::string maxpool_depth(const Layer& layer, const std::string& x) {
    const std::int64_t groups = layer.out.c;
    const std::int64_t rows = (layer.in.c + groups - 1) / groups;
    std::string y = x;
    if (rows * groups != layer.in.c) {
      y = b_.node("Pad", {y, b_.ints(tag_ + "_pads", {0, 0, 0, 0, 0, rows * groups - layer.in.c, 0, 0}),
                          b_.scalar(tag_ + "_lowest", std::numeric_limits<float>::lowest())},
                  tag_ + "_padded");
    }
    y = b_.node("Reshape", {y, b_.ints(tag_ + "_rows", {0, rows, groups, layer.in.h, layer.in.w})}, tag_ + "_grouped");
    return b_.node("ReduceMax", {y}, tag_, {attr("axes", I64{1}), attr("keepdims", std::int64_t{0})});
  }

  template <class Input>
  std::string route(const Layer& layer, const Input& input) {
    const RouteSpec& spec = layer.as<RouteSpec>();
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < layer.inputs.size(); ++i) {
      std::string part = input(i);
      if (spec.groups > 1) {
        const int from = layer.inputs[i];
        const int channels = from < 0 ? graph_.input.c : graph_.layers[static_cast<std::size_t>(from)].out.c;
        const std::int64_t size = channels / spec.groups;
        part = b_.node("Slice", {part, b_.ints(tag_ + "_start", {size * spec.group_id}),
                                 b_.ints(tag_ + "_end", {size * (spec.group_id + 1)}), b_.ints(tag_ + "_axis", {1})},
                       tag_ + "_group");
      }
      parts.push_back(part);
    }
    if (parts.size() == 1) return parts.front();
    return b_.node("Concat", parts, tag_, {attr("axis", std::int64_t{1})});
  }

  template <class Input>
  std::string shortcut(const Layer& layer, const Input& input) {
    const ShortcutSpec& spec = layer.as<ShortcutSpec>();
    const FoldedLayer folded = fold();
    const int c = layer.out.c;
    const auto weighted = [&](const std::string& x, std::size_t source) {
      if (spec.weights_type == ShortcutWeights::None) return x;
      if (spec.weights_type == ShortcutWeights::PerFeature) return scalar_op("Mul", x, folded.weights[source], tag_ + "_weighted");
      const auto first = folded.weights.begin() + static_cast<std::ptrdiff_t>(source * static_cast<std::size_t>(c));
      return b_.node("Mul", {x, b_.floats(tag_ + "_weights", {first, first + c}, {1, c, 1, 1})}, tag_ + "_weighted");
    };
    std::string sum = weighted(input(0), 0);
    for (std::size_t s = 1; s < layer.inputs.size(); ++s) {
      std::string from = input(s);
      const Shape& shape = graph_.layers[static_cast<std::size_t>(layer.inputs[s])].out;
      from = resampled(from, shape, layer.out);
      if (shape.c > c) {  // Darknet adds only the first channels
        from = b_.node("Slice", {from, b_.ints(tag_ + "_start", {0}), b_.ints(tag_ + "_end", {c}), b_.ints(tag_ + "_axis", {1})},
                       tag_ + "_first");
      } else if (shape.c < c) {  // ...or into the first channels
        from = b_.node("Pad", {from, b_.ints(tag_ + "_pads", {0, 0, 0, 0, 0, c - shape.c, 0, 0})}, tag_ + "_padded");
      }
      sum = b_.node("Add", {sum, weighted(from, s)}, tag_);
    }
    return activation(sum, spec.activation);
  }

  // A shortcut source of another spatial size brought onto the output's grid
  // as Darknet adds it: every stride-th cell of a larger source, or a smaller
  // one spread step cells apart with zeros between (see ShortcutSampling).
  std::string resampled(const std::string& x, const Shape& shape, const Shape& out) {
    if (shape.h == out.h && shape.w == out.w) return x;
    const ShortcutSampling s = shortcut_sampling(shape, out);
    std::string y = x;
    std::int64_t h = shape.h, w = shape.w;
    if (s.stride > 1 || h > out.h || w > out.w) {
      y = b_.node("Slice", {y, b_.ints(tag_ + "_start", {0, 0}), b_.ints(tag_ + "_end", {s.h * s.stride, s.w * s.stride}),
                            b_.ints(tag_ + "_axes", {2, 3}), b_.ints(tag_ + "_steps", {s.stride, s.stride})},
                  tag_ + "_sampled");
      h = s.h;
      w = s.w;
    }
    if (s.step > 1) {  // [N,C,h,w] -> [N,C,h,1,w,1] -> zeros after each cell -> [N,C,h*step,w*step]
      const std::int64_t c = shape.c, k = s.step;
      y = b_.node("Reshape", {y, b_.ints(tag_ + "_cells", {0, c, h, 1, w, 1})}, tag_ + "_cells");
      y = b_.node("Pad", {y, b_.ints(tag_ + "_gaps", {0, 0, 0, 0, 0, 0, 0, 0, 0, k - 1, 0, k - 1})}, tag_ + "_gapped");
      y = b_.node("Reshape", {y, b_.ints(tag_ + "_spread_shape", {0, c, h * k, w * k})}, tag_ + "_spread");
      h *= k;
      w *= k;
    }
    if (h < out.h || w < out.w) {
      y = b_.node("Pad", {y, b_.ints(tag_ + "_fill", {0, 0, 0, 0, 0, 0, out.h - h, out.w - w})}, tag_ + "_filled");
    }
    return y;
  }

  std::string upsample(const Layer& layer, const std::string& x) {
    const UpsampleSpec& spec = layer.as<UpsampleSpec>();
    const float s = static_cast<float>(spec.stride);
    std::string y;
    float factor = spec.scale;
    if (spec.downsample) {  // Darknet sums each s x s block
      y = b_.node("AveragePool", {x}, tag_ + "_pool",
                  {attr("kernel_shape", I64{spec.stride, spec.stride}), attr("strides", I64{spec.stride, spec.stride})});
      factor *= s * s;
    } else {
      y = b_.node("Resize", {x, "", b_.floats32(tag_ + "_scales", {1.f, 1.f, s, s}, {4})}, tag_ + "_resize",
                  {attr("mode", std::string("nearest")), attr("coordinate_transformation_mode", std::string("asymmetric")),
                   attr("nearest_mode", std::string("floor"))});
    }
    return factor == 1.f ? y : scalar_op("Mul", y, factor, tag_);
  }

  // A reorg is a fixed permutation of the flat tensor: one Gather.
  std::string reorg(const Layer& layer, const std::string& x) {
    const ReorgSpec& spec = layer.as<ReorgSpec>();
    const Shape& dims = layer.kind == LayerKind::Reorg ? layer.in : layer.out;
    const std::int64_t w = dims.w, h = dims.h, c = dims.c, stride = spec.stride;
    const std::int64_t total = layer.out.size();
    std::vector<std::int64_t> index(static_cast<std::size_t>(total));
    const std::int64_t in_c = c / (stride * stride);
    for (std::int64_t k = 0; k < c; ++k) {
      for (std::int64_t j = 0; j < h; ++j) {
        for (std::int64_t i = 0; i < w; ++i) {
          const std::int64_t a = i + w * (j + h * k);
          const std::int64_t offset = k / in_c;
          const std::int64_t b = (i * stride + offset % stride) + w * stride * ((j * stride + offset / stride) + h * stride * (k % in_c));
          if (spec.reverse) {
            index[static_cast<std::size_t>(b)] = a;  // Darknet's "forward" copy: out[b] = in[a]
          } else {
            index[static_cast<std::size_t>(a)] = b;
          }
        }
      }
    }
    const std::string flat = b_.node("Reshape", {x, b_.ints(tag_ + "_flat_shape", {-1, total})}, tag_ + "_flat");
    const std::string moved = b_.node("Gather", {flat, b_.ints(tag_ + "_index", index, {total})}, tag_ + "_gather",
                                      {attr("axis", std::int64_t{1})});
    return b_.node("Reshape", {moved, b_.ints(tag_ + "_shape", {-1, layer.out.c, layer.out.h, layer.out.w})}, tag_);
  }

  // Head activations per channel: y = x * keep + sigmoid(x) * gain + shift,
  // with constants that pick, for each channel, identity or a (scaled) logistic.
  std::string head(const Layer& layer, const std::string& x) {
    const int c = layer.out.c;
    std::vector<float> keep(static_cast<std::size_t>(c), 0.f);
    std::vector<float> gain(static_cast<std::size_t>(c), 0.f);
    std::vector<float> shift(static_cast<std::size_t>(c), 0.f);
    bool any_logistic = false;
    int softmax_from = -1;  // region: class channels within each anchor
    int per_anchor = 0;
    const auto set = [&](int ch, bool logistic, float scale) {
      const std::size_t i = static_cast<std::size_t>(ch);
      if (logistic) {
        gain[i] = scale;
        any_logistic = true;
      } else {
        keep[i] = scale;
      }
      shift[i] = static_cast<float>(-0.5 * (scale - 1));
    };
    if (layer.kind == LayerKind::Region) {
      const RegionSpec& spec = layer.as<RegionSpec>();
      per_anchor = spec.coords + 1 + spec.classes;
      for (int ch = 0; ch < c; ++ch) {
        const int j = ch % per_anchor;
        const bool logistic = j < 2 || j == spec.coords;
        const bool classes = j > spec.coords;
        if (classes && spec.softmax) continue;  // filled by the softmax below
        set(ch, logistic, 1.f);
      }
      if (spec.softmax) softmax_from = spec.coords + 1;
    } else {
      const YoloSpec& spec = layer.as<YoloSpec>();
      const bool gaussian = layer.kind == LayerKind::GaussianYolo;
      per_anchor = spec.classes + (gaussian ? 9 : 5);
      for (int ch = 0; ch < c; ++ch) {
        const int j = ch % per_anchor;
        if (gaussian) {
          const bool scaled = j == 0 || j == 2;
          set(ch, j != 4 && j != 6, scaled ? spec.scale_x_y : 1.f);
        } else if (spec.new_coords) {  // the conv before already applied logistic
          set(ch, false, j < 2 ? spec.scale_x_y : 1.f);
        } else {
          set(ch, j < 2 || j >= 4, j < 2 ? spec.scale_x_y : 1.f);
        }
      }
    }
    const I64 dims = {1, c, 1, 1};
    std::string y = b_.node("Mul", {x, b_.floats(tag_ + "_keep", keep, dims)}, tag_ + "_kept");
    if (any_logistic) {
      const std::string s = b_.node("Sigmoid", {x}, tag_ + "_sigmoid");
      y = b_.node("Add", {y, b_.node("Mul", {s, b_.floats(tag_ + "_gain", gain, dims)}, tag_ + "_gained")}, tag_ + "_sum");
    }
    y = b_.node("Add", {y, b_.floats(tag_ + "_shift", shift, dims)}, tag_ + "_act");
    if (softmax_from >= 0) {  // softmax across each anchor's class channels, zero-padded back in place
      const std::int64_t anchors = c / per_anchor;
      const std::string grouped =
          b_.node("Reshape", {x, b_.ints(tag_ + "_anchors", {-1, anchors, per_anchor, layer.out.h, layer.out.w})}, tag_ + "_grouped");
      const std::string classes = b_.node("Slice", {grouped, b_.ints(tag_ + "_start", {softmax_from}),
                                                    b_.ints(tag_ + "_end", {per_anchor}), b_.ints(tag_ + "_axis", {2})},
                                          tag_ + "_classes");
      const std::string soft = b_.node("Softmax", {classes}, tag_ + "_softmax", {attr("axis", std::int64_t{2})});
      const std::string padded =
          b_.node("Pad", {soft, b_.ints(tag_ + "_pads", {0, 0, softmax_from, 0, 0, 0, 0, 0, 0, 0})}, tag_ + "_padded");
      const std::string back = b_.node("Reshape", {padded, b_.ints(tag_ + "_shape", {-1, c, layer.out.h, layer.out.w})}, tag_ + "_flat");
      y = b_.node("Add", {y, back}, tag_);
    }
    return y;
  }

  // Darknet's test-mode crop: the centred window, v * scale + shift.
  std::string crop(const Layer& layer, const std::string& x) {
    const CropSpec& spec = layer.as<CropSpec>();
    const std::int64_t top = (layer.in.h - layer.out.h) / 2;
    const std::int64_t left = (layer.in.w - layer.out.w) / 2;
    const std::string window = b_.node("Slice", {x, b_.ints(tag_ + "_start", {top, left}),
                                                 b_.ints(tag_ + "_end", {top + layer.out.h, left + layer.out.w}),
                                                 b_.ints(tag_ + "_axes", {2, 3})},
                                       tag_ + "_window");
    if (spec.scale == 1.f && spec.shift == 0.f) return window;
    return scalar_op("Add", scalar_op("Mul", window, spec.scale, tag_ + "_scaled"), spec.shift, tag_);
  }

  std::string softmax(const Layer& layer, const std::string& x) {
    const SoftmaxSpec& spec = layer.as<SoftmaxSpec>();
    const std::int64_t size = layer.in.size();
    std::string y = b_.node("Reshape", {x, b_.ints(tag_ + "_groups", {-1, spec.groups, size / spec.groups})}, tag_ + "_grouped");
    if (spec.temperature != 1.f) y = scalar_op("Div", y, spec.temperature, tag_ + "_tempered");
    y = b_.node("Softmax", {y}, tag_ + "_softmax", {attr("axis", std::int64_t{2})});
    return b_.node("Reshape", {y, b_.ints(tag_ + "_shape", {-1, layer.out.c, layer.out.h, layer.out.w})}, tag_);
  }

  const Graph& graph_;
  const Weights& weights_;
  GraphBuilder& b_;
  std::string input_;
  onnx_export::Int8Quantizer* int8_;  // null: float throughout
  int index_ = 0;
  std::string tag_;
};

void add_tensor_info(onnx::ValueInfoProto* info, const std::string& name, const Shape& shape, bool dynamic_batch) {
  info->set_name(name);
  onnx::TypeProto_Tensor* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* dims = tensor->mutable_shape();
  if (dynamic_batch) {
    dims->add_dim()->set_dim_param("batch");
  } else {
    dims->add_dim()->set_dim_value(1);
  }
  for (const int d : {shape.c, shape.h, shape.w}) dims->add_dim()->set_dim_value(d);
}

void add_value_info(onnx::ValueInfoProto* info, const onnx_export::TailOutput& out) {
  info->set_name(out.name);
  onnx::TypeProto_Tensor* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(out.elem_type);
  onnx::TensorShapeProto* dims = tensor->mutable_shape();
  for (const std::int64_t d : out.dims) {
    if (d < 0) {
      dims->add_dim()->set_dim_param(out.name == "selected" ? "selected" : "batch");
    } else {
      dims->add_dim()->set_dim_value(d);
    }
  }
}

std::string head_output_name(const Layer& layer) {
  if (layer.kind == LayerKind::Region) return cat("region_", layer.index);
  if (layer.kind == LayerKind::GaussianYolo) return cat("gaussian_yolo_", layer.index);
  return cat("yolo_", layer.index);
}

nlohmann::json head_metadata(const Layer& layer) {
  nlohmann::json head = {{"output", head_output_name(layer)}, {"layer", layer.index}, {"kind", layer_kind_name(layer.kind)},
                         {"classes", head_classes(layer)}};
  if (layer.kind == LayerKind::Region) {
    const RegionSpec& spec = layer.as<RegionSpec>();
    head["anchors"] = spec.anchors;
    head["coords"] = spec.coords;
    head["softmax"] = spec.softmax;
  } else {
    const YoloSpec& spec = layer.as<YoloSpec>();
    head["anchors"] = spec.anchors;
    head["mask"] = spec.mask;
    head["scale_x_y"] = spec.scale_x_y;
    head["new_coords"] = spec.new_coords;
  }
  return head;
}

void add_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

}  // namespace

std::string export_onnx(const Graph& graph, const Weights& weights, const OnnxExportOptions& options) {
  if (options.opset < 13 || options.opset > 17) throw Error(cat("ONNX opset ", options.opset, " is not offered; use 13 to 17"));
  if (weights.layers.size() != graph.layers.size()) {
    throw Error(cat("the weights hold ", weights.layers.size(), " layers but ", graph.source, " has ", graph.layers.size()));
  }
  const std::vector<int> heads = graph.head_layers();
  if (heads.empty()) throw Error(cat(graph.source, " has no detection head ([yolo], [Gaussian_yolo] or [region]) to export"));

  onnx::ModelProto model;
  model.set_ir_version(options.opset <= 14 ? 7 : 8);
  model.set_producer_name("dusk");
  model.set_producer_version(options.dusk_version);
  model.set_doc_string(cat("Darknet model ", graph.source, ", BatchNorm folded (eps 1e-5), head activations applied"));
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("darknet");
  GraphBuilder builder(g);
  builder.fresh("input");
  add_tensor_info(g->add_input(), "input", graph.input, options.dynamic_batch);

  // --fp16: the body computes in half precision between a cast of the input
  // and casts of the heads; inputs, outputs and the decode tail stay float.
  std::string body_input = "input";
  if (options.fp16) {
    body_input = builder.node("Cast", {"input"}, "input_half", {onnx_export::attr("to", std::int64_t{onnx::TensorProto::FLOAT16})});
    builder.set_half(true);
  }
  std::optional<onnx_export::Int8Quantizer> int8;
  if (options.int8) {
    if (options.fp16) throw Error("an int8 export computes its float parts in float32; leave out fp16 (--fp16)");
    if (options.int8->weights_hash != parameter_hash(graph, weights)) {
      throw Error(cat("the calibration was made with other weights than these for ", graph.source,
                      "; run dusk calibrate with these weights"));
    }
    int8.emplace(graph, *options.int8, builder);
  }
  Lowering lowering(graph, weights, builder, body_input, int8 ? &*int8 : nullptr);
  std::vector<std::string> produced;
  for (const Layer& layer : graph.layers) produced.push_back(lowering.lower(layer, produced));
  builder.set_half(false);
  if (options.fp16) {
    for (const int h : heads) {
      std::string& head = produced[static_cast<std::size_t>(h)];
      head = builder.node("Cast", {head}, head + "_float", {onnx_export::attr("to", std::int64_t{onnx::TensorProto::FLOAT})});
    }
  }

  nlohmann::json head_info = nlohmann::json::array();
  for (const int h : heads) {
    const Layer& layer = graph.layers[static_cast<std::size_t>(h)];
    const std::string name = builder.fresh(head_output_name(layer));
    builder.node_to("Identity", {produced[static_cast<std::size_t>(h)]}, name);
    add_tensor_info(g->add_output(), name, layer.out, options.dynamic_batch);
    head_info.push_back(head_metadata(layer));
  }
  if (options.decode || options.nms) {
    std::vector<std::string> head_tensors;
    for (const int h : heads) head_tensors.push_back(produced[static_cast<std::size_t>(h)]);
    nlohmann::json tail = nlohmann::json::object();
    for (const onnx_export::TailOutput& out : onnx_export::add_decode_tail(builder, graph, head_tensors, options)) {
      add_value_info(g->add_output(), out);
      tail[out.name] = out.dims;
    }
    tail["box_format"] = "x1,y1,x2,y2 in pixels of the network input";
    if (options.nms) tail["nms"] = {{"iou", options.nms_iou}, {"score_threshold", options.score_threshold}};
    add_metadata(model, "dusk.decode", tail.dump());
  }
  add_metadata(model, "dusk.source", graph.source);
  add_metadata(model, "dusk.input", cat(graph.input.w, "x", graph.input.h));
  add_metadata(model, "dusk.letterbox", graph.letter_box ? "1" : "0");
  add_metadata(model, "dusk.precision", options.fp16 ? "fp16" : options.int8 ? "int8" : "fp32");
  add_metadata(model, "dusk.heads", head_info.dump());
  if (!options.labels.empty()) add_metadata(model, "dusk.names", nlohmann::json(options.labels).dump());

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& error) {
    throw Error(cat("the ONNX model made from ", graph.source, " fails ONNX's checker (a dusk bug; please report it): ", error.what()));
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error(cat("cannot serialise the ONNX model of ", graph.source));
  return bytes;
}

}  // namespace dusk
