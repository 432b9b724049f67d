// Reading each section kind's options into its typed spec, with Darknet's
// defaults and with every inference-relevant value checked.
#include <algorithm>
#include <numeric>

#include "dusk/error.hpp"
#include "graph/graph_internal.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

constexpr int kMaxStride = 1024;
constexpr int kMaxClasses = 1 << 20;
constexpr int kMaxAnchors = 4096;

std::string layer_label(const SectionReader& reader, int index) {
  return cat("layer ", index, " [", reader.type(), "]");
}

Activation read_activation(SectionReader& reader, std::string_view fallback) {
  const std::string name = reader.get_string("activation", fallback);
  if (const auto activation = activation_from_name(name)) return *activation;
  throw Error(cat(reader.where("activation"), ": [", reader.type(), "] activation=", printable(name),
                  " is unknown; expected one of: ", activation_names_list()));
}

// Darknet's rule: a negative reference counts back from this layer.
int resolve_reference(const SectionReader& reader, std::string_view key, int value, int index) {
  const int absolute = value < 0 ? index + value : value;
  if (index == 0) {
    throw Error(cat(reader.where(key), ": ", layer_label(reader, index), " ", key, "=", value,
                    " cannot work: the first layer has no earlier layers to use"));
  }
  if (absolute < 0) {
    throw Error(cat(reader.where(key), ": ", layer_label(reader, index), " ", key, "=", value,
                    " points before the first layer (to ", absolute, "); use ", -index, "..-1 or 0..",
                    index - 1));
  }
  if (absolute >= index) {
    throw Error(cat(reader.where(key), ": ", layer_label(reader, index), " ", key, "=", value, " points to layer ",
                    absolute, ", which is not before this one; a layer can only use earlier layers (",
                    index == 0 ? std::string("none exist yet") : cat("0..", index - 1), ")"));
  }
  return absolute;
}

std::vector<int> read_references(SectionReader& reader, std::string_view key, int index) {
  if (!reader.has(key)) {
    throw Error(cat(reader.where(), ": ", layer_label(reader, index), " needs ", key,
                    "= (the layers it takes input from)"));
  }
  std::vector<int> layers = reader.get_int_list(key, -kMaxLayers, kMaxLayers);
  for (int& layer : layers) layer = resolve_reference(reader, key, layer, index);
  return layers;
}

int previous_layer(int index) { return index - 1; }  // -1 is the network input

ParsedLayer parse_convolutional(SectionReader& reader, int index) {
  ConvSpec spec;
  spec.filters = reader.get_int("filters", 1, 1, kMaxChannels);
  spec.groups = reader.get_int("groups", 1, 1, kMaxChannels);
  spec.size = reader.get_int("size", 1, 1, kMaxKernelSize);
  const int stride = reader.get_int("stride", 1, 1, kMaxStride);
  spec.stride_x = reader.get_int("stride_x", stride, 1, kMaxStride);
  spec.stride_y = reader.get_int("stride_y", stride, 1, kMaxStride);
  spec.dilation = reader.get_int("dilation", 1, 1, kMaxKernelSize);
  if (spec.size == 1) spec.dilation = 1;  // as Darknet
  const bool pad = reader.get_int("pad", 0, 0, 1) == 1;
  spec.pad = reader.get_int("padding", 0, 0, kMaxKernelSize);
  if (pad) spec.pad = spec.size / 2;
  spec.activation = read_activation(reader, "logistic");
  const bool cross_iteration_bn = reader.get_flag("cbn", false);
  spec.batch_normalize = reader.get_flag("batch_normalize", false) || cross_iteration_bn;
  spec.flipped = reader.get_flag("flipped", false);
  if (spec.filters % spec.groups != 0) {
    throw Error(cat(reader.where("groups"), ": ", layer_label(reader, index), " groups=", spec.groups,
                    " does not divide filters=", spec.filters, "; make filters a multiple of groups"));
  }
  reader.reject_unless("binary", "0", "binary (XNOR) weights are not implemented");
  reader.reject_unless("xnor", "0", "XNOR convolutions are not implemented");
  reader.reject_unless("antialiasing", "0", "anti-aliased (blurred) strides are not implemented");
  reader.reject_unless("share_index", "", "weight sharing between layers is not implemented");
  for (const char* deform : {"sway", "rotate", "stretch", "stretch_sway"}) {
    reader.reject_unless(deform, "0", "deformable convolutions are not implemented");
  }
  reader.ignore("reverse");
  reader.ignore("bin_output");
  return {spec, {previous_layer(index)}};
}

ParsedLayer parse_connected(SectionReader& reader, int index) {
  ConnectedSpec spec;
  spec.outputs = reader.get_int("output", 1, 1, 1 << 24);
  spec.activation = read_activation(reader, "logistic");
  spec.batch_normalize = reader.get_flag("batch_normalize", false);
  return {spec, {previous_layer(index)}};
}

ParsedLayer parse_pool(SectionReader& reader, int index, bool is_maxpool) {
  PoolSpec spec;
  const int stride = reader.get_int("stride", 1, 1, kMaxStride);
  spec.stride_x = reader.get_int("stride_x", stride, 1, kMaxStride);
  spec.stride_y = reader.get_int("stride_y", stride, 1, kMaxStride);
  spec.size = reader.get_int("size", stride, 1, kMaxKernelSize);
  spec.padding = reader.get_int("padding", spec.size - 1, 0, 2 * kMaxKernelSize);
  if (is_maxpool) {
    spec.maxpool_depth = reader.get_flag("maxpool_depth", false);
    spec.out_channels = reader.get_int("out_channels", 1, 1, kMaxChannels);
    reader.reject_unless("antialiasing", "0", "anti-aliased (blurred) pooling is not implemented");
  }
  return {spec, {previous_layer(index)}};
}

ParsedLayer parse_route(SectionReader& reader, int index) {
  RouteSpec spec;
  spec.layers = read_references(reader, "layers", index);
  spec.groups = reader.get_int("groups", 1, 1, kMaxChannels);
  spec.group_id = reader.get_int("group_id", 0, 0, spec.groups - 1);
  return {spec, spec.layers};
}

ParsedLayer parse_shortcut(SectionReader& reader, int index) {
  ShortcutSpec spec;
  spec.from = read_references(reader, "from", index);
  spec.activation = read_activation(reader, "linear");
  const std::string type = reader.get_string("weights_type", "none");
  if (type == "per_feature" || type == "per_layer") {
    spec.weights_type = ShortcutWeights::PerFeature;
  } else if (type == "per_channel") {
    spec.weights_type = ShortcutWeights::PerChannel;
  } else if (type != "none") {
    throw Error(cat(reader.where("weights_type"), ": ", layer_label(reader, index), " weights_type=",
                    printable(type), " is unknown; expected none, per_feature, per_layer or per_channel"));
  }
  const std::string normalization = reader.get_string("weights_normalization", "none");
  if (normalization == "relu" || normalization == "avg_relu") {
    spec.normalization = ShortcutNormalization::Relu;
  } else if (normalization == "softmax") {
    spec.normalization = ShortcutNormalization::Softmax;
  } else if (normalization != "none") {
    throw Error(cat(reader.where("weights_normalization"), ": ", layer_label(reader, index),
                    " weights_normalization=", printable(normalization),
                    " is unknown; expected none, relu, avg_relu or softmax"));
  }
  std::vector<int> inputs = {previous_layer(index)};
  inputs.insert(inputs.end(), spec.from.begin(), spec.from.end());
  return {spec, inputs};
}

ParsedLayer parse_upsample(SectionReader& reader, int index) {
  UpsampleSpec spec;
  const int stride = reader.get_int("stride", 2, -kMaxStride, kMaxStride);
  if (stride == 0) {
    throw Error(cat(reader.where("stride"), ": ", layer_label(reader, index),
                    " stride=0 is invalid; use a positive stride to upsample or a negative one to downsample"));
  }
  spec.stride = stride < 0 ? -stride : stride;
  spec.downsample = stride < 0;
  spec.scale = reader.get_float("scale", 1.0f, -1e6f, 1e6f);
  return {spec, {previous_layer(index)}};
}

ParsedLayer parse_reorg(SectionReader& reader, int index) {
  ReorgSpec spec;
  spec.stride = reader.get_int("stride", 1, 1, 64);
  spec.reverse = reader.get_flag("reverse", false);
  return {spec, {previous_layer(index)}};
}

NmsKind read_nms_kind(SectionReader& reader, int index) {
  const std::string name = reader.get_string("nms_kind", "default");
  if (const std::optional<NmsKind> kind = parse_nms_kind(name)) return *kind;
  throw Error(cat(reader.where("nms_kind"), ": ", layer_label(reader, index), " nms_kind=", printable(name),
                  " is unknown; expected ", kNmsKindNames));
}

std::vector<float> read_anchors(SectionReader& reader, int index, int count, std::string_view count_key) {
  if (!reader.has("anchors")) {
    throw Error(cat(reader.where(), ": ", layer_label(reader, index), " has no anchors=; give ", 2 * count,
                    " comma-separated values (", count_key, "=", count, " anchor pairs)"));
  }
  std::vector<float> anchors = reader.get_float_list("anchors");
  if (static_cast<int>(anchors.size()) < 2 * count) {
    throw Error(cat(reader.where("anchors"), ": ", layer_label(reader, index), " anchors= has ", anchors.size(),
                    " values but ", count_key, "=", count, " needs ", 2 * count, " (a width and a height each)"));
  }
  anchors.resize(static_cast<std::size_t>(2 * count));  // Darknet ignores extra values too
  for (const float anchor : anchors) {
    if (!(anchor > 0.0f)) {
      throw Error(cat(reader.where("anchors"), ": ", layer_label(reader, index), " anchors= contains ", anchor,
                      "; anchor sizes must be positive"));
    }
  }
  return anchors;
}

YoloPoint read_yolo_point(SectionReader& reader, int index) {
  const std::string name = reader.get_string("yolo_point", "center");
  if (name == "center") return YoloPoint::Center;
  if (name == "left_top") return YoloPoint::LeftTop;
  if (name == "right_bottom") return YoloPoint::RightBottom;
  throw Error(cat(reader.where("yolo_point"), ": ", layer_label(reader, index), " yolo_point=", printable(name),
                  " is unknown; expected center, left_top or right_bottom"));
}

ParsedLayer parse_yolo(SectionReader& reader, int index, bool gaussian) {
  YoloSpec spec;
  spec.classes = reader.get_int("classes", 20, 1, kMaxClasses);
  spec.total = reader.get_int("num", 1, 1, kMaxAnchors);
  spec.mask = reader.get_int_list("mask", 0, kMaxAnchors - 1);
  if (spec.mask.empty()) {
    spec.mask.resize(static_cast<std::size_t>(spec.total));
    std::iota(spec.mask.begin(), spec.mask.end(), 0);
  }
  // A mask index beyond num= works in Darknet when anchors= lists enough
  // pairs (it reads the anchors it needs): take num from the mask, say so.
  const int needed = *std::max_element(spec.mask.begin(), spec.mask.end()) + 1;
  if (needed > spec.total) {
    const std::size_t listed = reader.has("anchors") ? reader.get_float_list("anchors").size() / 2 : 0;
    if (static_cast<int>(listed) < needed) {
      throw Error(cat(reader.where("mask"), ": ", layer_label(reader, index), " mask= uses anchor ", needed - 1,
                      " but num=", spec.total, " and anchors= lists ", listed, " pairs; raise num= and list ", needed,
                      " anchor pairs"));
    }
    reader.warn(cat(layer_label(reader, index), " num=", spec.total, " is smaller than its mask needs; used num=",
                    needed, " (anchors= lists ", listed, " pairs)"));
    spec.total = needed;
  }
  spec.anchors = read_anchors(reader, index, spec.total, "num");
  spec.scale_x_y = reader.get_float("scale_x_y", 1.0f, 0.0f, 100.0f);
  spec.new_coords = reader.get_flag("new_coords", false);
  spec.nms_kind = read_nms_kind(reader, index);
  spec.beta_nms = reader.get_float("beta_nms", 0.6f, 0.0f, 100.0f);
  if (gaussian) spec.point = read_yolo_point(reader, index);
  reader.reject_unless("map", "", "class remapping files (map=) are not supported");
  return {spec, {previous_layer(index)}};
}

ParsedLayer parse_region(SectionReader& reader, int index) {
  RegionSpec spec;
  spec.classes = reader.get_int("classes", 20, 1, kMaxClasses);
  spec.coords = reader.get_int("coords", 4, 4, 64);
  spec.num = reader.get_int("num", 1, 1, kMaxAnchors);
  spec.anchors = read_anchors(reader, index, spec.num, "num");
  spec.softmax = reader.get_flag("softmax", false);
  reader.reject_unless("tree", "", "hierarchical softmax trees (YOLO9000) are not supported");
  reader.reject_unless("map", "", "class remapping files (map=) are not supported");
  return {spec, {previous_layer(index)}};
}

ParsedLayer parse_scale(SectionReader& reader, int index, bool is_scale_channels) {
  ScaleSpec spec;
  if (!reader.has("from")) {
    throw Error(cat(reader.where(), ": ", layer_label(reader, index), " needs from= (the layer to multiply by)"));
  }
  const std::vector<int> from = reader.get_int_list("from", -kMaxLayers, kMaxLayers);
  spec.from = resolve_reference(reader, "from", from.front(), index);
  if (is_scale_channels) spec.scale_wh = reader.get_flag("scale_wh", false);
  spec.activation = read_activation(reader, "linear");
  return {spec, {previous_layer(index), spec.from}};
}

ParsedLayer parse_softmax(SectionReader& reader, int index) {
  SoftmaxSpec spec;
  spec.groups = reader.get_int("groups", 1, 1, 1 << 24);
  spec.temperature = reader.get_float("temperature", 1.0f, 1e-6f, 1e6f);
  reader.reject_unless("tree", "", "hierarchical softmax trees are not supported");
  return {spec, {previous_layer(index)}};
}

ParsedLayer parse_activation(SectionReader& reader, int index) {
  ActivationSpec spec;
  spec.activation = read_activation(reader, "linear");
  return {spec, {previous_layer(index)}};
}

ParsedLayer parse_crop(SectionReader& reader, int index) {
  CropSpec spec;
  spec.height = reader.get_int("crop_height", 1, 1, kMaxInputSide);
  spec.width = reader.get_int("crop_width", 1, 1, kMaxInputSide);
  if (reader.get_flag("noadjust", false)) {
    spec.scale = 1.0f;
    spec.shift = 0.0f;
  }
  // Random flips, rotations and colour changes happen only while training.
  for (const char* key : {"flip", "angle", "saturation", "exposure", "shift"}) reader.ignore(key);
  return {spec, {previous_layer(index)}};
}

}  // namespace

ParsedLayer parse_layer(LayerKind kind, SectionReader& reader, int index) {
  switch (kind) {
    case LayerKind::Convolutional: return parse_convolutional(reader, index);
    case LayerKind::Connected: return parse_connected(reader, index);
    case LayerKind::Maxpool: return parse_pool(reader, index, true);
    case LayerKind::LocalAvgpool: return parse_pool(reader, index, false);
    case LayerKind::Route: return parse_route(reader, index);
    case LayerKind::Shortcut: return parse_shortcut(reader, index);
    case LayerKind::Upsample: return parse_upsample(reader, index);
    case LayerKind::Reorg:
    case LayerKind::Reorg3d: return parse_reorg(reader, index);
    case LayerKind::Yolo: return parse_yolo(reader, index, false);
    case LayerKind::GaussianYolo: return parse_yolo(reader, index, true);
    case LayerKind::Region: return parse_region(reader, index);
    case LayerKind::Sam: return parse_scale(reader, index, false);
    case LayerKind::ScaleChannels: return parse_scale(reader, index, true);
    case LayerKind::Softmax: return parse_softmax(reader, index);
    case LayerKind::Activation: return parse_activation(reader, index);
    case LayerKind::Crop: return parse_crop(reader, index);
    case LayerKind::Avgpool:
    case LayerKind::Dropout:
    case LayerKind::Cost:
    case LayerKind::Batchnorm:
    case LayerKind::Empty:
    case LayerKind::Count: break;
  }
  return {NoSpec{}, {previous_layer(index)}};
}

}  // namespace dusk
