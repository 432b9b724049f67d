// COCO-style AP on boxes, following pycocotools' COCOeval: per image and
// class the 100 strongest detections, greedy matching in score order to the
// best still-unmatched truth with IoU >= t (truths outside the area range are
// ignored, and so are unmatched detections outside it), then precision at
// 101 recall points from the monotone envelope.
#include <algorithm>
#include <array>

#include "dusk/eval.hpp"

namespace dusk {

namespace {

constexpr int kMaxDetectionsPerImage = 100;
constexpr int kRecallPoints = 101;
constexpr int kIouSteps = 10;  // 0.50, 0.55, ..., 0.95

struct AreaRange {
  double low;
  double high;
};
constexpr std::array<AreaRange, 4> kAreas = {{{0, 1e10}, {0, 32.0 * 32}, {32.0 * 32, 96.0 * 96}, {96.0 * 96, 1e10}}};

double iou(const RelativeBox& a, const RelativeBox& b) {
  const double w = std::min(double{a.x} + a.w / 2.0, double{b.x} + b.w / 2.0) -
                   std::max(double{a.x} - a.w / 2.0, double{b.x} - b.w / 2.0);
  const double h = std::min(double{a.y} + a.h / 2.0, double{b.y} + b.h / 2.0) -
                   std::max(double{a.y} - a.h / 2.0, double{b.y} - b.h / 2.0);
  if (w <= 0 || h <= 0) return 0;
  const double intersection = w * h;
  return intersection / (double{a.w} * a.h + double{b.w} * b.h - intersection);
}

double pixel_area(const RelativeBox& box, const EvalImage& image) {
  return double{box.w} * image.width * double{box.h} * image.height;
}

struct Matched {
  float score;
  bool true_positive;
};

// One class, one IoU threshold, one area range: AP, or -1 without truths.
double class_ap(const std::vector<EvalImage>& images, int class_id, double threshold, const AreaRange& area) {
  std::vector<Matched> matched;
  int truths_counted = 0;
  for (const EvalImage& image : images) {
    std::vector<const Truth*> truths;
    for (const Truth& t : image.truths) {
      if (t.class_id == class_id) truths.push_back(&t);
    }
    const auto ignored = [&](const RelativeBox& box) {
      const double a = pixel_area(box, image);
      return a < area.low || a > area.high;
    };
    // Truths in range first, as COCOeval orders them.
    std::stable_sort(truths.begin(), truths.end(),
                     [&](const Truth* a, const Truth* b) { return !ignored(a->box) && ignored(b->box); });
    std::vector<const ScoredBox*> detections;
    for (const ScoredBox& d : image.detections) {
      if (d.class_id == class_id && d.prob > 0) detections.push_back(&d);
    }
    std::stable_sort(detections.begin(), detections.end(),
                     [](const ScoredBox* a, const ScoredBox* b) { return a->prob > b->prob; });
    if (detections.size() > kMaxDetectionsPerImage) detections.resize(kMaxDetectionsPerImage);
    for (const Truth* t : truths) truths_counted += ignored(t->box) ? 0 : 1;
    std::vector<char> taken(truths.size(), 0);
    for (const ScoredBox* d : detections) {
      double best = std::min(threshold, 1 - 1e-10);
      int match = -1;
      for (std::size_t g = 0; g < truths.size(); ++g) {
        if (taken[g]) continue;
        if (match >= 0 && !ignored(truths[static_cast<std::size_t>(match)]->box) && ignored(truths[g]->box)) break;
        const double overlap = iou(d->box, truths[g]->box);
        if (overlap < best) continue;
        best = overlap;
        match = static_cast<int>(g);
      }
      if (match >= 0) {
        taken[static_cast<std::size_t>(match)] = 1;
        if (!ignored(truths[static_cast<std::size_t>(match)]->box)) matched.push_back({d->prob, true});
      } else if (!ignored(d->box)) {
        matched.push_back({d->prob, false});
      }
    }
  }
  if (truths_counted == 0) return -1;
  std::stable_sort(matched.begin(), matched.end(), [](const Matched& a, const Matched& b) { return a.score > b.score; });
  std::vector<double> precision(matched.size());
  std::vector<double> recall(matched.size());
  int tp = 0;
  for (std::size_t i = 0; i < matched.size(); ++i) {
    tp += matched[i].true_positive ? 1 : 0;
    recall[i] = static_cast<double>(tp) / truths_counted;
    precision[i] = static_cast<double>(tp) / (static_cast<double>(i + 1) + 2.220446049250313e-16);
  }
  for (std::size_t i = matched.size(); i-- > 1;) precision[i - 1] = std::max(precision[i - 1], precision[i]);
  double sum = 0;
  for (int r = 0; r < kRecallPoints; ++r) {
    const double level = r / 100.0;
    const auto at = std::lower_bound(recall.begin(), recall.end(), level);
    if (at != recall.end()) sum += precision[static_cast<std::size_t>(at - recall.begin())];
  }
  return sum / kRecallPoints;
}

// Mean of the values that are not -1; -1 when there are none.
double mean_of_known(const std::vector<double>& values) {
  double sum = 0;
  int count = 0;
  for (const double v : values) {
    if (v > -1) {
      sum += v;
      ++count;
    }
  }
  return count > 0 ? sum / count : -1;
}

}  // namespace

CocoResult evaluate_coco(const std::vector<EvalImage>& images, int classes) {
  CocoResult result;
  std::vector<double> all;
  std::vector<double> at50;
  std::vector<double> at75;
  std::array<std::vector<double>, 3> by_size;
  for (int c = 0; c < classes; ++c) {
    std::vector<double> per_threshold;
    for (int step = 0; step < kIouSteps; ++step) {
      const double threshold = 0.5 + 0.05 * step;
      const double ap = class_ap(images, c, threshold, kAreas[0]);
      per_threshold.push_back(ap);
      all.push_back(ap);
      if (step == 0) at50.push_back(ap);
      if (step == 5) at75.push_back(ap);
      for (std::size_t s = 0; s < by_size.size(); ++s) by_size[s].push_back(class_ap(images, c, threshold, kAreas[s + 1]));
    }
    result.class_ap.push_back(mean_of_known(per_threshold));
  }
  result.map = mean_of_known(all);
  result.map50 = mean_of_known(at50);
  result.map75 = mean_of_known(at75);
  result.map_small = mean_of_known(by_size[0]);
  result.map_medium = mean_of_known(by_size[1]);
  result.map_large = mean_of_known(by_size[2]);
  return result;
}

}  // namespace dusk
