// What tracking costs per frame: Tracker::update (and a Counter with two
// lines and a zone) on N objects walking with jitter, births, deaths and
// missed detections, against one detection pass of a model on a real
// frame, measured in the same run.
//   track_cost CFG WEIGHTS|- IMAGE [OBJECTS=100] [FRAMES=2000] [THREADS=1]
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <random>
#include <string>

#include "dusk/dusk.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: track_cost CFG WEIGHTS IMAGE [OBJECTS=100] [FRAMES=2000] [THREADS=1]\n");
    return 2;
  }
  const int objects = argc > 4 ? std::stoi(argv[4]) : 100;
  const int frames = argc > 5 ? std::stoi(argv[5]) : 2000;
  const int threads = argc > 6 ? std::stoi(argv[6]) : 1;
  std::mt19937 rng(1);
  std::normal_distribution<float> step(0, 3), jitter(0, 1.5f);
  std::uniform_real_distribution<float> unit(0, 1), place(0, 1800), side(20, 120);
  struct Walker {
    float x, y, vx, vy, w, h;
  };
  // About `objects` detections a frame: walkers missed 5% of the time, and
  // 1% a frame leave (another walker starts elsewhere).
  const auto born = [&] { return Walker{place(rng), place(rng), step(rng), step(rng), side(rng), side(rng)}; };
  std::vector<Walker> walkers(static_cast<std::size_t>(objects / 0.95));
  for (Walker& w : walkers) w = born();
  std::vector<std::vector<dusk::Detection>> sequence(static_cast<std::size_t>(frames));
  std::size_t total = 0;
  for (auto& frame : sequence) {
    for (Walker& w : walkers) {
      w.x += w.vx + jitter(rng);
      w.y += w.vy + jitter(rng);
      if (unit(rng) < 0.01f) w = born();
      if (unit(rng) < 0.05f) continue;
      dusk::Detection d;
      d.confidence = unit(rng) < 0.8f ? 0.5f + unit(rng) / 2 : 0.1f + unit(rng) * 0.4f;
      d.box = {w.x, w.y, w.w, w.h};
      frame.push_back(d);
    }
    total += frame.size();
  }
  // Tracking alone, then tracking with a counter, over the same frames.
  const auto track_only_start = std::chrono::steady_clock::now();
  {
    dusk::Tracker alone;
    for (const auto& frame : sequence) alone.update(frame);
  }
  const double track_only_us = seconds_since(track_only_start) / frames * 1e6;
  dusk::Tracker tracker;
  dusk::Counter counter({dusk::resolve_count_line(dusk::parse_count_line("a=0,900,1900,900"), 2000, 2000),
                         dusk::resolve_count_line(dusk::parse_count_line("b=900,0,900,1900"), 2000, 2000)},
                        {dusk::resolve_zone(dusk::parse_zone("z=500,500,1500,500,1500,1500,500,1500"), 2000, 2000)});
  const auto track_start = std::chrono::steady_clock::now();
  std::size_t tracked = 0;
  for (int f = 0; f < frames; ++f) {
    const auto out = tracker.update(sequence[static_cast<std::size_t>(f)]);
    counter.update(out, f * 33.3, tracker.removed());
    tracked += out.size();
  }
  const double track_us = seconds_since(track_start) / frames * 1e6;

  dusk::DetectorOptions options;
  options.network.threads = threads;
  const std::string weights = argv[2];
  // Random weights score nearly every box near 0.25: a threshold none pass
  // keeps NMS of tens of thousands of boxes out of the frame's time.
  if (weights == "-") options.threshold = 0.99f;
  dusk::Graph graph = dusk::load_graph(argv[1]);
  // "-": seeded random weights (the detection time is the same).
  dusk::Network network = weights == "-" ? dusk::Network(graph, dusk::random_weights(graph, 1), options.network)
                                         : dusk::Network::load(std::move(graph), weights, options.network);
  const dusk::Detector detector(std::move(network), options);
  const dusk::Image image = dusk::load_image(argv[3]);
  detector.detect(image);  // warm-up: plans and kernels
  const int passes = std::getenv("TRACK_COST_ONLY") ? 1 : 20;
  const auto detect_start = std::chrono::steady_clock::now();
  for (int i = 0; i < passes; ++i) detector.detect(image);
  const double detect_us = seconds_since(detect_start) / passes * 1e6;
  std::printf("%s, %d threads: detection %.0f us per frame; at %.1f detections (%.1f tracked) per frame, tracking "
              "%.1f us = %.2f%% of a frame, tracking + counting (2 lines, 1 zone) %.1f us = %.2f%%\n",
              argv[1], threads, detect_us, static_cast<double>(total) / frames, static_cast<double>(tracked) / frames,
              track_only_us, 100.0 * track_only_us / detect_us, track_us, 100.0 * track_us / detect_us);
  return 0;
}
