// Darknet's `detector map` arithmetic (validate_detector_map in AlexeyAB's
// darknet), computed from detections and truths. Per class the curve is kept
// only at that class's own detections: between them Darknet's per-rank
// tables repeat the same state, which changes no sum or maximum it takes.
#include <algorithm>

#include "detect/candidates.hpp"
#include "dusk/error.hpp"
#include "dusk/eval.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

struct RankedDetection {
  float prob = 0;
  int class_id = 0;
  int truth_index = -1;  // over all images; -1: matches no truth of its class
};

// Each gain in recall times the best precision at that recall or beyond.
double area_under_curve(const std::vector<PrPoint>& curve) {
  double ap = 0;
  double envelope = 0;
  for (std::size_t k = curve.size(); k-- > 0;) {
    envelope = std::max(envelope, curve[k].precision);
    const double previous_recall = k == 0 ? 0.0 : curve[k - 1].recall;
    ap += (curve[k].recall - previous_recall) * envelope;
  }
  return ap;
}

double interpolated(const std::vector<PrPoint>& curve, int points) {
  double sum = 0;
  for (int point = 0; point < points; ++point) {
    // Darknet is built with -Ofast, which turns its point / (points - 1) into
    // a product with the reciprocal: 3 * 0.1 is just above 0.3, so a recall
    // of exactly 3/10 does not reach that point. Darknet's own numbers need it.
    const double recall = point * (1.0 / (points - 1));
    double precision = 0;
    for (const PrPoint& p : curve) {
      if (p.recall >= recall && p.precision > precision) precision = p.precision;
    }
    sum += precision;
  }
  return sum / points;
}

}  // namespace

MapResult evaluate_map(const std::vector<EvalImage>& images, int classes, const MapOptions& options) {
  if (classes < 1) throw Error(cat("cannot evaluate a detector with ", classes, " classes"));
  if (options.points < 0 || options.points == 1) {
    throw Error(cat("recall points ", options.points, " are not supported; use 0 (area under the curve) or 2 and more"));
  }
  MapResult result;
  result.options = options;
  result.classes.resize(static_cast<std::size_t>(classes));
  std::vector<RankedDetection> ranked;
  float iou_sum = 0;
  for (std::size_t image_index = 0; image_index < images.size(); ++image_index) {
    const EvalImage& image = images[image_index];
    for (const Truth& truth : image.truths) {
      if (truth.class_id < 0 || truth.class_id >= classes) {
        throw Error(cat("image ", image_index, " has a truth of class ", truth.class_id, " but the detector has ",
                        classes, " classes"));
      }
      ++result.classes[static_cast<std::size_t>(truth.class_id)].truths;
    }
    // Darknet counts a detection at the threshold as a TP only if no earlier
    // detection of this image, however weak, matched the same truth.
    std::vector<char> truth_seen(image.truths.size(), 0);
    bool unmatched_seen = false;
    for (const ScoredBox& d : image.detections) {
      if (!(d.prob > 0)) continue;
      if (d.class_id < 0 || d.class_id >= classes) {
        throw Error(cat("image ", image_index, " has a detection of class ", d.class_id, " but the detector has ",
                        classes, " classes"));
      }
      int best = -1;
      float best_iou = 0;
      for (std::size_t j = 0; j < image.truths.size(); ++j) {
        const float iou = box_iou(d.box, image.truths[j].box);
        if (iou > options.iou_threshold && d.class_id == image.truths[j].class_id && iou > best_iou) {
          best_iou = iou;
          best = static_cast<int>(j);
        }
      }
      ClassAccuracy& accuracy = result.classes[static_cast<std::size_t>(d.class_id)];
      ++accuracy.detections;
      if (d.prob > options.conf_threshold) {
        const bool found = best < 0 ? unmatched_seen : truth_seen[static_cast<std::size_t>(best)] != 0;
        if (best >= 0 && !found) {
          iou_sum += best_iou;
          ++result.tp;
          ++accuracy.tp_at_threshold;
        } else {
          ++result.fp;
          ++accuracy.fp_at_threshold;
        }
      }
      if (best < 0) {
        unmatched_seen = true;
      } else {
        truth_seen[static_cast<std::size_t>(best)] = 1;
      }
      ranked.push_back({d.prob, d.class_id, best < 0 ? -1 : result.unique_truth_count + best});
    }
    result.unique_truth_count += static_cast<int>(image.truths.size());
  }
  result.detections_count = static_cast<int>(ranked.size());

  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const RankedDetection& a, const RankedDetection& b) { return a.prob > b.prob; });
  std::vector<char> truth_taken(static_cast<std::size_t>(result.unique_truth_count), 0);
  std::vector<int> tp(static_cast<std::size_t>(classes), 0);
  std::vector<int> fp(static_cast<std::size_t>(classes), 0);
  for (std::size_t rank = 0; rank < ranked.size(); ++rank) {
    const RankedDetection& d = ranked[rank];
    const auto c = static_cast<std::size_t>(d.class_id);
    if (d.truth_index >= 0 && !truth_taken[static_cast<std::size_t>(d.truth_index)]) {
      truth_taken[static_cast<std::size_t>(d.truth_index)] = 1;
      ++tp[c];
    } else {
      ++fp[c];
    }
    ClassAccuracy& accuracy = result.classes[c];
    PrPoint point;
    point.precision = static_cast<double>(tp[c]) / static_cast<double>(tp[c] + fp[c]);
    point.recall = accuracy.truths > 0 ? static_cast<double>(tp[c]) / static_cast<double>(accuracy.truths) : 0.0;
    point.confidence = d.prob;
    accuracy.curve.push_back(point);
  }

  double ap_sum = 0;
  for (std::size_t c = 0; c < result.classes.size(); ++c) {
    ClassAccuracy& accuracy = result.classes[c];
    accuracy.ap = options.points == 0 ? area_under_curve(accuracy.curve)
                                      : interpolated(accuracy.curve, options.points);
    ap_sum += accuracy.ap;
  }
  result.map = ap_sum / classes;

  // Float arithmetic, as Darknet prints these (0/0 gives its nan).
  result.fn = result.unique_truth_count - result.tp;
  const auto tp_f = static_cast<float>(result.tp);
  result.precision = tp_f / (tp_f + static_cast<float>(result.fp));
  result.recall = tp_f / (tp_f + static_cast<float>(result.fn));
  result.f1 = 2.f * result.precision * result.recall / (result.precision + result.recall);
  if (result.tp + result.fp > 0) result.average_iou = iou_sum / static_cast<float>(result.tp + result.fp);
  return result;
}

}  // namespace dusk
