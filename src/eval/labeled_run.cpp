// Detection over a labeled list with a small pool of whole-image workers.
#include "eval/labeled_run.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "dusk/error.hpp"

namespace dusk {

LabeledRun run_labeled(const Detector& detector, const std::vector<LabeledImage>& list, int workers,
                       std::int64_t max_image_pixels, const std::function<void(std::size_t, std::size_t)>& progress) {
  struct Slot {
    std::optional<EvalImage> image;
    std::string failure;
  };
  std::vector<Slot> slots(list.size());
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::condition_variable finished_one;
  std::size_t done = 0;

  const auto work = [&] {
    for (std::size_t i = next++; i < list.size(); i = next++) {
      Slot slot;
      try {
        const Image image = load_image(list[i].image_path, max_image_pixels);
        EvalImage result;
        result.width = image.w;
        result.height = image.h;
        result.truths = list[i].truths;
        result.detections = detector.scored_boxes(image);
        slot.image = std::move(result);
      } catch (const std::exception& error) {  // Error, or bad_alloc for one huge image
        slot.failure = error.what();
      }
      const std::lock_guard lock(mutex);
      slots[i] = std::move(slot);
      ++done;
      finished_one.notify_one();
    }
  };
  const int count = std::max(1, std::min<int>(workers, static_cast<int>(list.size())));
  std::vector<std::thread> threads;
  for (int t = 0; t < count; ++t) threads.emplace_back(work);
  {
    std::unique_lock lock(mutex);
    std::size_t reported = 0;
    while (reported < list.size()) {
      finished_one.wait(lock, [&] { return done > reported; });
      reported = done;
      lock.unlock();
      if (progress) progress(reported, list.size());
      lock.lock();
    }
  }
  for (std::thread& thread : threads) thread.join();

  LabeledRun run;
  for (Slot& slot : slots) {
    if (slot.image) {
      run.images.push_back(std::move(*slot.image));
    } else {
      run.failures.push_back(std::move(slot.failure));
    }
  }
  return run;
}

}  // namespace dusk
