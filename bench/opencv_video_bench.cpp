// The loop Darknet's `detector demo` users write in OpenCV DNN: read a
// frame, blobFromImage (linear resize, RGB, /255), forward to the heads.
// No decoding of boxes, so it is a lower bound on such a tool's time.
//   opencv_video_bench CFG WEIGHTS|- VIDEO THREADS [MAX_FRAMES]
// Prints one JSON object: frames, seconds, fps.
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/videoio.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "dusk/dusk.hpp"

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: opencv_video_bench CFG WEIGHTS|- VIDEO THREADS [MAX_FRAMES]\n");
    return 2;
  }
  const std::string cfg = argv[1];
  std::string weights = argv[2];
  const std::string video = argv[3];
  const int threads = std::atoi(argv[4]);
  const long max_frames = argc == 6 ? std::atol(argv[5]) : -1;
  try {
    const dusk::Graph graph = dusk::load_graph(cfg);
    std::string temporary;
    if (weights == "-") {  // dusk's seeded random weights, as `dusk detect CFG -` uses
      temporary = (std::filesystem::temp_directory_path() / ("opencv_video_bench_" + std::to_string(::getpid()) + ".weights")).string();
      dusk::write_weights(temporary, graph, dusk::random_weights(graph, 1));
      weights = temporary;
    }
    cv::setNumThreads(threads);
    cv::dnn::Net net = cv::dnn::readNetFromDarknet(cfg, weights);
    if (!temporary.empty()) std::filesystem::remove(temporary);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    const std::vector<std::string> outputs = net.getUnconnectedOutLayersNames();
    cv::VideoCapture capture(video, cv::CAP_FFMPEG);
    if (!capture.isOpened()) throw dusk::Error("cannot open " + video);
    cv::Mat frame;
    std::vector<cv::Mat> results;
    long frames = 0;
    const auto start = std::chrono::steady_clock::now();
    while ((max_frames < 0 || frames < max_frames) && capture.read(frame)) {
      net.setInput(cv::dnn::blobFromImage(frame, 1 / 255.0, cv::Size(graph.input.w, graph.input.h), cv::Scalar(), true, false));
      net.forward(results, outputs);
      ++frames;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"frames\": %ld, \"seconds\": %.3f, \"fps\": %.2f}\n", frames, seconds, static_cast<double>(frames) / seconds);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "opencv_video_bench: %s\n", error.what());
    return 1;
  }
}
