// Decoding head outputs into boxes, with Darknet's formulas and float/double
// mix so that boxes match its own to the last digits.
#include <cmath>

#include "detect/candidates.hpp"

namespace dusk {

namespace {

// Reads entry `entry` of anchor `n` at cell `cell` from a CHW head output.
struct HeadView {
  const float* data;
  std::int64_t plane;
  int per_anchor;
  float at(int n, int entry, std::int64_t cell) const { return data[(std::int64_t{n} * per_anchor + entry) * plane + cell]; }
};

void add_if_any(Candidate&& candidate, std::vector<Candidate>& candidates) {
  for (const float p : candidate.probs) {
    if (p > 0) {
      candidates.push_back(std::move(candidate));
      return;
    }
  }
}

void decode_yolo(const Layer& layer, const Tensor& output, const Shape& net, float threshold,
                 std::vector<Candidate>& candidates) {
  const YoloSpec& spec = layer.as<YoloSpec>();
  const bool gaussian = layer.kind == LayerKind::GaussianYolo;
  const int lw = layer.out.w;
  const int lh = layer.out.h;
  const HeadView view{output.data.data(), std::int64_t{lw} * lh, spec.classes + (gaussian ? 9 : 5)};
  const int objectness_entry = gaussian ? 8 : 4;
  for (int cell = 0; cell < lw * lh; ++cell) {
    const int row = cell / lw;
    const int col = cell % lw;
    for (int n = 0; n < static_cast<int>(spec.mask.size()); ++n) {
      const float objectness = view.at(n, objectness_entry, cell);
      if (!(objectness > threshold)) continue;  // NaN never passes
      const int anchor = spec.mask[static_cast<std::size_t>(n)];
      const float anchor_w = spec.anchors[static_cast<std::size_t>(2 * anchor)];
      const float anchor_h = spec.anchors[static_cast<std::size_t>(2 * anchor + 1)];
      Candidate c;
      float uncertainty = 0;
      if (gaussian) {
        c.box.w = static_cast<float>(std::exp(double{view.at(n, 4, cell)}) * anchor_w / net.w);
        c.box.h = static_cast<float>(std::exp(double{view.at(n, 6, cell)}) * anchor_h / net.h);
        c.box.x = (static_cast<float>(col) + view.at(n, 0, cell)) / static_cast<float>(lw);
        c.box.y = (static_cast<float>(row) + view.at(n, 2, cell)) / static_cast<float>(lh);
        if (spec.point == YoloPoint::LeftTop) {
          c.box.x += c.box.w / 2;
          c.box.y += c.box.h / 2;
        } else if (spec.point == YoloPoint::RightBottom) {
          c.box.x -= c.box.w / 2;
          c.box.y -= c.box.h / 2;
        }
        // Darknet scales class scores by one minus the mean coordinate uncertainty.
        uncertainty = static_cast<float>(
            (view.at(n, 1, cell) + view.at(n, 3, cell) + view.at(n, 5, cell) + view.at(n, 7, cell)) / 4.0);
      } else {
        c.box.x = (static_cast<float>(col) + view.at(n, 0, cell)) / static_cast<float>(lw);
        c.box.y = (static_cast<float>(row) + view.at(n, 1, cell)) / static_cast<float>(lh);
        const float tw = view.at(n, 2, cell);
        const float th = view.at(n, 3, cell);
        if (spec.new_coords) {
          c.box.w = tw * tw * 4 * anchor_w / static_cast<float>(net.w);
          c.box.h = th * th * 4 * anchor_h / static_cast<float>(net.h);
        } else {
          c.box.w = static_cast<float>(std::exp(double{tw}) * anchor_w / net.w);
          c.box.h = static_cast<float>(std::exp(double{th}) * anchor_h / net.h);
        }
      }
      c.probs.resize(static_cast<std::size_t>(spec.classes));
      for (int j = 0; j < spec.classes; ++j) {
        const float score = objectness * view.at(n, objectness_entry + 1 + j, cell);
        const float prob = gaussian ? static_cast<float>(score * (1.0 - uncertainty)) : score;
        c.probs[static_cast<std::size_t>(j)] = prob > threshold ? prob : 0;
      }
      add_if_any(std::move(c), candidates);
    }
  }
}

// YOLOv2's region head: anchors in grid cells, probabilities are
// objectness x softmax; x, y and objectness already went through logistic.
void decode_region(const Layer& layer, const Tensor& output, float threshold, std::vector<Candidate>& candidates) {
  const RegionSpec& spec = layer.as<RegionSpec>();
  const int lw = layer.out.w;
  const int lh = layer.out.h;
  const HeadView view{output.data.data(), std::int64_t{lw} * lh, spec.coords + 1 + spec.classes};
  for (int cell = 0; cell < lw * lh; ++cell) {
    const int row = cell / lw;
    const int col = cell % lw;
    for (int n = 0; n < spec.num; ++n) {
      Candidate c;
      c.box.x = (static_cast<float>(col) + view.at(n, 0, cell)) / static_cast<float>(lw);
      c.box.y = (static_cast<float>(row) + view.at(n, 1, cell)) / static_cast<float>(lh);
      c.box.w = static_cast<float>(std::exp(double{view.at(n, 2, cell)}) * spec.anchors[static_cast<std::size_t>(2 * n)] / lw);
      c.box.h =
          static_cast<float>(std::exp(double{view.at(n, 3, cell)}) * spec.anchors[static_cast<std::size_t>(2 * n + 1)] / lh);
      const float objectness = view.at(n, spec.coords, cell);
      c.probs.resize(static_cast<std::size_t>(spec.classes));
      for (int j = 0; j < spec.classes; ++j) {
        const float prob = objectness * view.at(n, spec.coords + 1 + j, cell);
        c.probs[static_cast<std::size_t>(j)] = prob > threshold ? prob : 0;
      }
      add_if_any(std::move(c), candidates);
    }
  }
}

}  // namespace

void decode_head(const Layer& layer, const Tensor& output, const Shape& network_input, float threshold,
                 std::vector<Candidate>& candidates) {
  if (layer.kind == LayerKind::Region) {
    decode_region(layer, output, threshold, candidates);
  } else {
    decode_yolo(layer, output, network_input, threshold, candidates);
  }
}

void correct_boxes(std::vector<Candidate>& candidates, int image_w, int image_h, int net_w, int net_h,
                   bool letterbox) {
  int new_w = net_w;
  int new_h = net_h;
  if (letterbox) {
    if (static_cast<float>(net_w) / static_cast<float>(image_w) < static_cast<float>(net_h) / static_cast<float>(image_h)) {
      new_h = (image_h * net_w) / image_w;
    } else {
      new_w = (image_w * net_h) / image_h;
    }
  }
  const float delta_w = static_cast<float>(net_w - new_w);
  const float delta_h = static_cast<float>(net_h - new_h);
  const float ratio_w = static_cast<float>(new_w) / static_cast<float>(net_w);
  const float ratio_h = static_cast<float>(new_h) / static_cast<float>(net_h);
  for (Candidate& c : candidates) {
    c.box.x = static_cast<float>((c.box.x - delta_w / 2. / net_w) / ratio_w);
    c.box.y = static_cast<float>((c.box.y - delta_h / 2. / net_h) / ratio_h);
    c.box.w *= 1 / ratio_w;
    c.box.h *= 1 / ratio_h;
  }
}

}  // namespace dusk
