// OpenCV DNN's side of the comparison: the same cfg, weights, input size and
// thread count through readNetFromDarknet, timed the same way as `dusk bench`.
//   opencv_bench CFG WEIGHTS|- WxH THREADS ITERS WARMUP
// Prints one JSON object. WEIGHTS "-" writes dusk's seeded random weights
// (seed 1, as `dusk bench` uses) to a temporary file first.
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "dusk/dusk.hpp"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: opencv_bench CFG WEIGHTS|- WxH THREADS ITERS WARMUP\n");
    return 2;
  }
  const std::string cfg = argv[1];
  std::string weights = argv[2];
  const std::string size = argv[3];
  const int width = std::atoi(size.c_str());
  const int height = std::atoi(size.c_str() + size.find('x') + 1);
  const int threads = std::atoi(argv[4]);
  const int iters = std::atoi(argv[5]);
  const int warmup = std::atoi(argv[6]);
  try {
    std::string temporary;
    if (weights == "-") {
      const dusk::Graph graph = dusk::load_graph(cfg, {width, height});
      temporary = (std::filesystem::temp_directory_path() / ("opencv_bench_" + std::to_string(::getpid()) + ".weights")).string();
      dusk::write_weights(temporary, graph, dusk::random_weights(graph, 1));
      weights = temporary;
    }
    cv::setNumThreads(threads);
    const auto load_start = std::chrono::steady_clock::now();
    cv::dnn::Net net = cv::dnn::readNetFromDarknet(cfg, weights);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    const double load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    if (!temporary.empty()) std::filesystem::remove(temporary);

    const int dims[] = {1, 3, height, width};
    cv::Mat blob(4, dims, CV_32F);
    std::mt19937 engine(1);
    std::uniform_real_distribution<float> unit(0.f, 1.f);
    for (std::size_t i = 0; i < blob.total(); ++i) blob.ptr<float>()[i] = unit(engine);
    const std::vector<std::string> outputs = net.getUnconnectedOutLayersNames();
    std::vector<cv::Mat> results;
    std::vector<double> times;
    for (int i = 0; i < warmup + iters; ++i) {
      net.setInput(blob);
      const auto start = std::chrono::steady_clock::now();
      net.forward(results, outputs);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      if (i >= warmup) times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    // OpenCV's CPU features line: its baseline, then the ISAs it dispatches to at run time.
    std::printf("{\"cfg\": \"%s\", \"threads\": %d, \"median_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, \"load_ms\": %.1f, "
                "\"cpu_features\": \"%s\"}\n",
                cfg.c_str(), threads, times[times.size() / 2], times.front(), times.back(), load_ms,
                cv::getCPUFeaturesLine().c_str());
  } catch (const std::exception& error) {
    std::fprintf(stderr, "opencv_bench: %s\n", error.what());
    return 1;
  }
}
