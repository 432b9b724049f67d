#pragma once
// The detection pipeline's inner stages: decoding head outputs into
// candidate boxes, mapping them to the image, and non-maximum suppression.
#include <vector>

#include "dusk/detector.hpp"

namespace dusk {

struct Candidate {
  RelativeBox box;
  std::vector<float> probs;  // per class; 0 where objectness x probability <= threshold
};

// Appends the candidates of one yolo, Gaussian_yolo or region head, in
// Darknet's order (cells row by row, anchors within a cell). Boxes are
// relative to the network input. Candidates with no class above the
// threshold are dropped: they can neither be reported nor suppress others.
void decode_head(const Layer& layer, const Tensor& output, const Shape& network_input, float threshold,
                 std::vector<Candidate>& candidates);

// Darknet's correct_yolo_boxes: undoes the letterbox offset and scale so
// boxes are relative to the original image.
void correct_boxes(std::vector<Candidate>& candidates, int image_w, int image_h, int net_w, int net_h,
                   bool letterbox);

float box_iou(const RelativeBox& a, const RelativeBox& b);
// IoU minus (centre distance^2 / enclosing diagonal^2)^beta.
float box_diou(const RelativeBox& a, const RelativeBox& b, float beta);

// Darknet's do_nms_sort (kind Default) and diounms_sort (the others): for
// each class, candidates sorted by probability; a weaker one whose overlap
// with a stronger one exceeds `threshold` loses that class.
void suppress(std::vector<Candidate>& candidates, int classes, float threshold, NmsKind kind, float beta);

}  // namespace dusk
