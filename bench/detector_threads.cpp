// N application threads calling one Detector at once (bench/contention):
//   detector_threads CFG WEIGHTS|- IMAGE THREADS CALLS_PER_THREAD [image|pixels|path]
// What each call gets: the decoded image (default), 8-bit BGR pixels as an
// application's frame buffer, or the path (decoded every call).
// prints {"threads":N,"calls":..,"wall_ms":..,"images_per_s":..,"median_call_ms":..}.
// With random weights (-) each call is Network::forward on the prepared
// input: random heads pass the threshold everywhere, and their NMS would be
// all that is measured.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "dusk/dusk.hpp"

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: detector_threads CFG WEIGHTS|- IMAGE THREADS CALLS_PER_THREAD [image|pixels|path]\n");
    return 2;
  }
  const std::string cfg = argv[1];
  const std::string weights = argv[2];
  const dusk::Image image = dusk::load_image(argv[3]);
  const int threads = std::stoi(argv[4]);
  const int calls = std::stoi(argv[5]);
  const std::string mode = argc == 7 ? argv[6] : "image";
  std::vector<unsigned char> bgr(static_cast<std::size_t>(image.w) * static_cast<std::size_t>(image.h) * 3);
  const std::size_t plane = static_cast<std::size_t>(image.w) * static_cast<std::size_t>(image.h);
  for (std::size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) bgr[3 * i + static_cast<std::size_t>(2 - c)] = static_cast<unsigned char>(image.data[c * plane + i] * 255.f + 0.5f);
  }
  dusk::Graph graph = dusk::load_graph(cfg);
  dusk::Network network = weights == "-" ? dusk::Network(graph, dusk::random_weights(graph, 1))
                                         : dusk::Network::load(std::move(graph), weights);
  const dusk::Detector detector(std::move(network), dusk::DetectorOptions{});
  dusk::Tensor input(detector.network().input_shape());
  input.data = dusk::resize_image(image, input.shape.w, input.shape.h).data;
  const auto call = [&] {
    if (weights == "-") {
      detector.network().forward(input);
    } else if (mode == "pixels") {
      detector.detect(bgr.data(), image.w, image.h, 3 * image.w, dusk::PixelFormat::BGR);
    } else if (mode == "path") {
      detector.detect(std::string(argv[3]));
    } else {
      detector.detect(image);
    }
  };
  call();  // warm-up: plans built, pages touched

  std::vector<std::vector<double>> call_ms(static_cast<std::size_t>(threads));
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < calls; ++i) {
        const auto begin = std::chrono::steady_clock::now();
        call();
        call_ms[static_cast<std::size_t>(t)].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count());
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (const auto& v : call_ms) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  std::printf("{\"threads\": %d, \"calls\": %zu, \"wall_ms\": %.1f, \"images_per_s\": %.2f, \"median_call_ms\": %.3f}\n",
              threads, all.size(), wall, static_cast<double>(all.size()) / (wall / 1000.0), all[all.size() / 2]);
  return 0;
}
