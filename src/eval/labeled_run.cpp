// Detection over a labeled list with a small pool of whole-image workers.
#include "eval/labeled_run.hpp"

#include "util/ordered_work.hpp"

namespace dusk {

LabeledRun run_labeled(const Detector& detector, const std::vector<LabeledImage>& list, int workers,
                       std::int64_t max_image_pixels, const std::function<void(std::size_t, std::size_t)>& progress) {
  struct Outcome {
    std::optional<EvalImage> image;
    std::string failure;
  };
  LabeledRun run;
  run_in_order<Outcome>(
      list.size(), workers,
      [&](std::size_t i) {
        Outcome outcome;
        try {
          const Image image = load_image(list[i].image_path, max_image_pixels);
          EvalImage result;
          result.width = image.w;
          result.height = image.h;
          result.truths = list[i].truths;
          result.detections = detector.scored_boxes(image);
          outcome.image = std::move(result);
        } catch (const std::exception& error) {  // Error, or bad_alloc for one huge image
          outcome.failure = error.what();
        }
        return outcome;
      },
      [&](std::size_t i, Outcome&& outcome) {
        if (outcome.image) {
          run.images.push_back(std::move(*outcome.image));
        } else {
          run.failures.push_back(std::move(outcome.failure));
        }
        if (progress) progress(i + 1, list.size());
      });
  return run;
}

}  // namespace dusk
