#pragma once
// Runs a detector over labeled images for evaluation: several images at once
// (each worker decodes, resizes, runs and decodes its own image, so decoding
// overlaps the network), results kept in list order.
#include <functional>
#include <string>
#include <vector>

#include "dusk/detector.hpp"
#include "dusk/eval.hpp"

namespace dusk {

struct LabeledRun {
  std::vector<EvalImage> images;  // the images that could be read, in list order
  std::vector<std::string> failures;  // one message per image that could not be read
};

// `workers` images are in flight at once; the detector's thread budget is
// split between them. `progress(done, total)` is called from the calling
// thread as images finish.
LabeledRun run_labeled(const Detector& detector, const std::vector<LabeledImage>& list, int workers,
                       std::int64_t max_image_pixels, const std::function<void(std::size_t, std::size_t)>& progress);

}  // namespace dusk
