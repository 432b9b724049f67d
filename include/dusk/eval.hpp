#pragma once
// Accuracy of a detector on labeled images: Darknet's `detector map`
// arithmetic (per-class AP, mAP, P/R/F1 and TP/FP/FN at a confidence
// threshold) and COCO-style AP over IoU 0.50:0.95. Pure functions of
// detections and truths: no network inside, so they can be checked on
// hand-made cases and fed by any detector.
#include <string>
#include <vector>

#include "dusk/detector.hpp"

namespace dusk {

// One labeled object: a line `class cx cy w h` of a Darknet label file.
struct Truth {
  int class_id = 0;
  RelativeBox box;  // relative to the image
};

// A labeled image: its path and its truths, read beforehand, so a bad
// label stops a run before any work.
struct LabeledImage {
  std::string image_path;
  std::vector<Truth> truths;
};

// What the evaluation needs of one image. `detections` in the order Darknet
// lists them after NMS (box by box, classes ascending within a box): ties in
// probability keep this order, as Darknet's stable sort does.
struct EvalImage {
  std::vector<ScoredBox> detections;
  std::vector<Truth> truths;
  int width = 0;  // pixels; used only by the COCO size ranges
  int height = 0;
};

struct MapOptions {
  float iou_threshold = 0.5f;  // a match needs IoU strictly above this
  int points = 0;              // 0: area under the curve at every recall; N: N recall points (11, 101)
  float conf_threshold = 0.25f;  // for the P/R/F1 and TP/FP/FN/average-IoU lines
};

struct PrPoint {
  double precision = 0;
  double recall = 0;
  float confidence = 0;
};

struct ClassAccuracy {
  double ap = 0;          // 0..1
  int truths = 0;         // objects of this class in the labels
  int detections = 0;     // candidates of this class (every probability above Darknet's 0.005)
  int tp_at_threshold = 0;  // at conf_threshold, as Darknet counts them
  int fp_at_threshold = 0;
  std::vector<PrPoint> curve;  // after each detection of this class, strongest first
};

struct MapResult {
  MapOptions options;
  int detections_count = 0;
  int unique_truth_count = 0;
  std::vector<ClassAccuracy> classes;
  double map = 0;  // mean of every class's AP, classes without truths included (as Darknet)
  // At conf_threshold, over all classes:
  int tp = 0;
  int fp = 0;
  int fn = 0;
  float precision = 0;
  float recall = 0;
  float f1 = 0;
  float average_iou = 0;  // over TP + FP, as Darknet divides it
};

// Darknet's validate_detector_map on already-detected images.
MapResult evaluate_map(const std::vector<EvalImage>& images, int classes, const MapOptions& options);

// COCO-style AP (pycocotools' definition on boxes): detections matched in
// score order to the best unmatched truth with IoU >= t, 101 recall points,
// at most 100 detections per image; classes without truths are left out of
// the means. Areas are box areas in pixels (small < 32^2 <= medium < 96^2 <= large).
struct CocoResult {
  double map = 0;     // mean over IoU 0.50, 0.55, ..., 0.95
  double map50 = 0;
  double map75 = 0;
  double map_small = 0;  // -1 when no truth is in that range
  double map_medium = 0;
  double map_large = 0;
  std::vector<double> class_ap;  // per class over 0.50:0.95; -1 for classes without truths
};
CocoResult evaluate_coco(const std::vector<EvalImage>& images, int classes);

}  // namespace dusk
