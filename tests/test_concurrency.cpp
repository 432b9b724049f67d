// One Detector shared by 8 threads, 50 detections each, gives exactly the
// sequential results; so do batches from 4 threads at once (each batch itself
// runs on threads of its own). scripts/test --tsan runs this under
// ThreadSanitizer.
#include <doctest/doctest.h>

#include <thread>

#include "dusk/dusk.hpp"
#include "support/paths.hpp"
#include "support/reference_detections.hpp"

using namespace dusk;


TEST_CASE("8 threads x 50 detections on one Detector equal the sequential results") {
  DetectorOptions options;
  options.labels = load_labels(test::shared("models/coco.names"));
  // One thread per call: the calls themselves are the parallelism here, and
  // ThreadSanitizer then sees no OpenMP teams (libgomp is not instrumented).
  options.network.threads = 1;
  const Detector detector(test::shared("models/yolo-fastest-1.1.cfg"), test::shared("models/yolo-fastest-1.1.weights"),
                          options);
  std::vector<Image> images;
  for (const char* name : {"dog.jpg", "kite.jpg", "horses.jpg", "person.jpg", "eagle.jpg"}) {
    images.push_back(load_image(test::darknet_data(name)));
  }
  std::vector<std::vector<Detection>> expected;
  for (const Image& image : images) expected.push_back(detector.detect(image));

  constexpr int kThreads = 8;
  constexpr int kDetections = 50;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDetections; ++i) {
        const std::size_t which = static_cast<std::size_t>(t * 7 + i) % images.size();
        if (!test::identical_detections(detector.detect(images[which]), expected[which])) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
}

TEST_CASE("4 threads x 3 batches on one Detector equal the sequential batches") {
  DetectorOptions options;
  // Two threads: a batch runs as two streams of one thread each, concurrent
  // batches one stream each. The reference backend, because the fast one
  // would compile its two-thread plan at load with an OpenMP team, which
  // ThreadSanitizer misreads (libomp is not instrumented); the streams are
  // the same code on both backends.
  options.network.threads = 2;
  options.network.backend = Backend::Reference;
  options.network.width = options.network.height = 160;
  const Detector detector(test::shared("models/yolo-fastest-1.1.cfg"), test::shared("models/yolo-fastest-1.1.weights"),
                          options);
  std::vector<Image> images;
  for (const char* name : {"dog.jpg", "horses.jpg", "person.jpg"}) images.push_back(load_image(test::darknet_data(name)));
  const std::vector<std::vector<Detection>> expected = detector.detect_batch(images);
  std::size_t found = 0;
  for (const auto& detections : expected) found += detections.size();
  CHECK(found > 0);
  constexpr int kThreads = 4;
  constexpr int kBatches = 3;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        const std::vector<std::vector<Detection>> got = detector.detect_batch(images);
        for (std::size_t k = 0; k < images.size(); ++k) {
          if (!test::identical_detections(got[k], expected[k])) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
}
