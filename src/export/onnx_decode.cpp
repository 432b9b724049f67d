// Darknet's box decoding as ONNX operators, the formulas of
// src/detect/decode.cpp, expressed for every cell and anchor at once.
#include "export/onnx_decode.hpp"

#include "dusk/error.hpp"
#include "dusk/text.hpp"

namespace dusk::onnx_export {

namespace {

using I64 = std::vector<std::int64_t>;

// Where a head keeps each entry of an anchor's block of channels.
struct HeadLayout {
  int anchors = 0;
  int per_anchor = 0;
  int x = 0, y = 1, w = 2, h = 3, objectness = 4;
  int classes = 0;
};

// Called for detection heads only (Graph::head_layers).
HeadLayout layout_of(const Layer& layer) {
  HeadLayout l;
  if (layer.kind == LayerKind::Region) {
    const RegionSpec& spec = layer.as<RegionSpec>();
    l.anchors = spec.num;
    l.classes = spec.classes;
    l.objectness = spec.coords;
    l.per_anchor = spec.coords + 1 + spec.classes;
    return l;
  }
  const YoloSpec& spec = layer.as<YoloSpec>();
  l.anchors = static_cast<int>(spec.mask.size());
  l.classes = spec.classes;
  if (layer.kind == LayerKind::GaussianYolo) {
    l.x = 0, l.y = 2, l.w = 4, l.h = 6, l.objectness = 8;
    l.per_anchor = spec.classes + 9;
  } else {
    l.per_anchor = spec.classes + 5;
  }
  return l;
}

class HeadDecoder {
 public:
  HeadDecoder(GraphBuilder& b, const Graph& graph, const Layer& layer)
      : b_(b), graph_(graph), layer_(layer), l_(layout_of(layer)), tag_(cat("decode", layer.index)) {}

  // [N,K,4] boxes and [N,K,classes] scores of this head, K = cells x anchors.
  std::pair<std::string, std::string> run(const std::string& head) {
    const std::int64_t cells = std::int64_t{layer_.out.h} * layer_.out.w;
    grouped_ = b_.node("Reshape", {head, b_.ints(tag_ + "_shape", {0, l_.anchors, l_.per_anchor, cells})}, tag_ + "_grouped");
    const float net_w = static_cast<float>(graph_.input.w);
    const float net_h = static_cast<float>(graph_.input.h);
    const float cell_w = net_w / static_cast<float>(layer_.out.w);  // pixels per cell
    const float cell_h = net_h / static_cast<float>(layer_.out.h);

    std::vector<float> cols(static_cast<std::size_t>(cells));
    std::vector<float> rows(static_cast<std::size_t>(cells));
    for (std::int64_t i = 0; i < cells; ++i) {
      cols[static_cast<std::size_t>(i)] = static_cast<float>(i % layer_.out.w);
      rows[static_cast<std::size_t>(i)] = static_cast<float>(i / layer_.out.w);
    }
    std::string cx = mul(add(entry(l_.x), b_.floats(tag_ + "_cols", cols, {1, 1, 1, cells}), "_gx"), cell_w, "_cx");
    std::string cy = mul(add(entry(l_.y), b_.floats(tag_ + "_rows", rows, {1, 1, 1, cells}), "_gy"), cell_h, "_cy");
    const std::string w = size(l_.w, 0, cell_w, "_w");
    const std::string h = size(l_.h, 1, cell_h, "_h");
    const std::string half_w = mul(w, 0.5f, "_half_w");
    const std::string half_h = mul(h, 0.5f, "_half_h");
    if (layer_.kind == LayerKind::GaussianYolo) {  // boxes given by a corner
      const YoloPoint point = layer_.as<YoloSpec>().point;
      if (point == YoloPoint::LeftTop) {
        cx = b_.node("Add", {cx, half_w}, tag_ + "_cx_centre");
        cy = b_.node("Add", {cy, half_h}, tag_ + "_cy_centre");
      } else if (point == YoloPoint::RightBottom) {
        cx = b_.node("Sub", {cx, half_w}, tag_ + "_cx_centre");
        cy = b_.node("Sub", {cy, half_h}, tag_ + "_cy_centre");
      }
    }
    const std::string corners =
        b_.node("Concat",
                {b_.node("Sub", {cx, half_w}, tag_ + "_x1"), b_.node("Sub", {cy, half_h}, tag_ + "_y1"),
                 b_.node("Add", {cx, half_w}, tag_ + "_x2"), b_.node("Add", {cy, half_h}, tag_ + "_y2")},
                tag_ + "_corners", {attr("axis", std::int64_t{2})});

    std::string scores = b_.node("Mul", {entry(l_.objectness), entry(l_.objectness + 1, l_.classes)}, tag_ + "_probs");
    if (layer_.kind == LayerKind::GaussianYolo) {  // times one minus the mean coordinate uncertainty
      const std::string sum = b_.node(
          "Sum", {entry(1), entry(3), entry(5), entry(7)}, tag_ + "_uncertainty_sum");
      const std::string keep = b_.node("Sub", {b_.scalar(tag_ + "_one", 1.f), mul(sum, 0.25f, "_uncertainty")}, tag_ + "_certainty");
      scores = b_.node("Mul", {scores, keep}, tag_ + "_probs_certain");
    }
    return {flatten(corners, 4, "_boxes"), flatten(scores, l_.classes, "_scores")};
  }

 private:
  // Entries [first, first + count) of every anchor: [N, anchors, count, cells].
  std::string entry(int first, int count = 1) {
    return b_.node("Slice",
                   {grouped_, b_.ints(tag_ + "_from", {first}), b_.ints(tag_ + "_to", {first + count}), b_.ints(tag_ + "_axis", {2})},
                   cat(tag_, "_entry", first));
  }
  std::string mul(const std::string& x, float k, const char* hint) {
    return b_.node("Mul", {x, b_.scalar(tag_ + hint + "_k", k)}, tag_ + hint);
  }
  std::string add(const std::string& x, const std::string& y, const char* hint) { return b_.node("Add", {x, y}, tag_ + hint); }

  // Box width or height in pixels: exp(t) (or 4 t^2 with new_coords) times the anchor.
  std::string size(int at, int dimension, float cell, const char* hint) {
    std::vector<float> anchor(static_cast<std::size_t>(l_.anchors));
    const bool region = layer_.kind == LayerKind::Region;
    bool new_coords = false;
    for (int n = 0; n < l_.anchors; ++n) {
      float value = 0;
      if (region) {  // anchors in cells
        value = layer_.as<RegionSpec>().anchors[static_cast<std::size_t>(2 * n + dimension)] * cell;
      } else {  // anchors in pixels of the network input, picked by the mask
        const YoloSpec& spec = layer_.as<YoloSpec>();
        value = spec.anchors[static_cast<std::size_t>(2 * spec.mask[static_cast<std::size_t>(n)] + dimension)];
        new_coords = spec.new_coords && layer_.kind == LayerKind::Yolo;
      }
      anchor[static_cast<std::size_t>(n)] = new_coords ? 4 * value : value;
    }
    const std::string t = entry(at);
    const std::string grown = new_coords ? b_.node("Mul", {t, t}, tag_ + hint + "_sq") : b_.node("Exp", {t}, tag_ + hint + "_exp");
    return b_.node("Mul", {grown, b_.floats(tag_ + hint + "_anchors", anchor, {1, l_.anchors, 1, 1})}, tag_ + hint);
  }

  // [N, anchors, E, cells] -> [N, cells x anchors, E]: Darknet's candidate order.
  std::string flatten(const std::string& x, int entries, const char* hint) {
    const std::string moved = b_.node("Transpose", {x}, tag_ + hint + "_t", {attr("perm", I64{0, 3, 1, 2})});
    return b_.node("Reshape", {moved, b_.ints(tag_ + hint + "_shape", {0, -1, entries})}, tag_ + hint);
  }

  GraphBuilder& b_;
  const Graph& graph_;
  const Layer& layer_;
  HeadLayout l_;
  std::string tag_;
  std::string grouped_;
};

}  // namespace

std::vector<TailOutput> add_decode_tail(GraphBuilder& b, const Graph& graph, const std::vector<std::string>& head_tensors,
                                        const OnnxExportOptions& options) {
  const std::vector<int> heads = graph.head_layers();
  std::vector<std::string> boxes;
  std::vector<std::string> scores;
  std::int64_t candidates = 0;
  int classes = -1;
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const Layer& layer = graph.layers[static_cast<std::size_t>(heads[i])];
    const HeadLayout l = layout_of(layer);
    if (classes >= 0 && l.classes != classes) {
      throw Error(cat("cannot add a decode tail: the heads disagree on the class count (", classes, " and ", l.classes,
                      " at layer ", layer.index, ")"));
    }
    classes = l.classes;
    candidates += std::int64_t{l.anchors} * layer.out.h * layer.out.w;
    const auto [head_boxes, head_scores] = HeadDecoder(b, graph, layer).run(head_tensors[i]);
    boxes.push_back(head_boxes);
    scores.push_back(head_scores);
  }
  const std::int64_t batch = options.dynamic_batch ? -1 : 1;
  const auto joined = [&](const std::vector<std::string>& parts, const std::string& name) {
    if (parts.size() == 1) {
      b.node_to("Identity", parts, b.fresh(name));
    } else {
      b.node_to("Concat", parts, b.fresh(name), {attr("axis", std::int64_t{1})});
    }
  };
  joined(boxes, "boxes");
  joined(scores, "class_scores");
  b.node_to("ReduceMax", {"class_scores"}, b.fresh("scores"), {attr("axes", I64{2}), attr("keepdims", std::int64_t{0})});
  b.node_to("ArgMax", {"class_scores"}, b.fresh("class_ids"), {attr("axis", std::int64_t{2}), attr("keepdims", std::int64_t{0})});
  std::vector<TailOutput> outputs = {{"boxes", onnx::TensorProto::FLOAT, {batch, candidates, 4}},
                                     {"class_scores", onnx::TensorProto::FLOAT, {batch, candidates, classes}},
                                     {"scores", onnx::TensorProto::FLOAT, {batch, candidates}},
                                     {"class_ids", onnx::TensorProto::INT64, {batch, candidates}}};
  if (options.nms) {
    const std::string by_class = b.node("Transpose", {"class_scores"}, "nms_scores", {attr("perm", I64{0, 2, 1})});
    b.node_to("NonMaxSuppression",
              {"boxes", by_class, b.ints("nms_max_boxes", {candidates}, {1}), b.floats("nms_iou", {options.nms_iou}, {1}),
               b.floats("nms_score", {options.score_threshold}, {1})},
              b.fresh("selected"));
    outputs.push_back({"selected", onnx::TensorProto::INT64, {-1, 3}});
  }
  return outputs;
}

}  // namespace dusk::onnx_export
