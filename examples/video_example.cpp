// Detections on the first frames of a video, through dusk's frame loop:
// decoding, resizing and the network run on their own threads, results
// come back here in order.
//   video_example CFG WEIGHTS VIDEO [FRAMES]
#include <cstdio>
#include <cstdlib>

#include "dusk/dusk.hpp"
#include "dusk/video.hpp"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: video_example CFG WEIGHTS VIDEO [FRAMES]\n");
    return 2;
  }
  try {
    const dusk::Detector detector(argv[1], argv[2]);
    const std::unique_ptr<dusk::FrameSource> video = dusk::open_frame_source(argv[3]);
    dusk::VideoOptions options;
    options.max_frames = argc == 5 ? std::atoll(argv[4]) : 20;
    const dusk::VideoSummary summary = dusk::run_video(*video, detector, options, [](dusk::FrameResult& result) {
      std::printf("frame %lld at %.0f ms: %zu objects\n", static_cast<long long>(result.frame.index),
                  result.frame.timestamp_ms, result.detections.size());
    });
    return summary.ok() ? 0 : 1;
  } catch (const dusk::Error& error) {
    std::fprintf(stderr, "video_example: %s\n", error.what());
    return 1;
  }
}
