// Detection over a labeled list: a job of scored boxes (run.hpp), the
// truths attached in input order.
#include "eval/labeled_run.hpp"

#include "dusk/run.hpp"

namespace dusk {

LabeledRun run_labeled(const Detector& detector, const std::vector<LabeledImage>& list, int workers,
                       std::int64_t max_image_pixels, const std::function<void(std::size_t, std::size_t)>& progress) {
  std::vector<std::string> paths;
  for (const LabeledImage& image : list) paths.push_back(image.image_path);
  JobOptions options;
  options.workers = workers;
  options.output = JobOutput::ScoredBoxes;
  LabeledRun run;
  run_detection_job(detector, image_files(std::move(paths), max_image_pixels), options, [&](JobItem&& item) {
    if (item.error.empty()) {
      EvalImage result;
      result.width = item.width;
      result.height = item.height;
      result.truths = list[item.index].truths;
      result.detections = std::move(item.scored);
      run.images.push_back(std::move(result));
    } else {
      run.failures.push_back(std::move(item.error));
    }
    if (progress) progress(item.index + 1, list.size());
  });
  return run;
}

}  // namespace dusk
