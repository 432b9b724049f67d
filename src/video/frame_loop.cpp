// run_video(): a reader thread feeds the frames, on a bounded queue, to the
// job layer (run.hpp), which fits and detects them and hands each result
// back in order. Video keeps only what is video: reading, ranges, pacing,
// reconnects and dropping stale frames of live sources.
#include <algorithm>
#include <cmath>
#include <thread>

#include "dusk/error.hpp"
#include "dusk/run.hpp"
#include "dusk/video.hpp"
#include "dusk/text.hpp"
#include "video/bounded_queue.hpp"

namespace dusk {

namespace {

struct ReaderReport {
  std::int64_t read = 0;
  std::int64_t missing = 0;
  int reconnects = 0;
  bool interrupted = false;
  std::string source_error;
};

void check_options(const VideoOptions& options) {
  if (options.every < 1) throw Error(cat("every ", options.every, " frames: use 1 or more"));
  if (options.start_frame < 0 || options.start_ms < 0) throw Error("the start of a video range cannot be negative");
  if (options.reconnect < 0) throw Error("reconnect attempts cannot be negative");
  if (options.queue_frames < 1) throw Error("video queues need room for at least one frame");
  if (options.max_frames == 0) throw Error("max frames 0 would process nothing; use -1 for no limit");
}

bool stopping(const std::atomic<bool>* stop) { return stop != nullptr && stop->load(); }

// Frames promised by the header that never decoded. A variable-frame-rate
// file decodes fewer frames than duration x fps, yet its last timestamp
// reaches the end; a damaged or cut file stops short of it.
std::int64_t missing_frames(const FrameSource& source, std::int64_t read, double last_ms) {
  const std::int64_t promised = source.frame_count();
  if (promised <= 0 || read >= promised) return 0;
  if (source.fps() > 0) {
    const double period = 1000.0 / source.fps();
    if (last_ms + 1.5 * period >= static_cast<double>(promised - 1) * period) return 0;
  }
  return promised - read;
}

// Sleeps up to `ms`, waking early when asked to stop.
void pause(double ms, const std::atomic<bool>* stop, const std::atomic<bool>& abort) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(ms);
  while (std::chrono::steady_clock::now() < until && !stopping(stop) && !abort) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ReaderReport read_frames(FrameSource& source, const VideoOptions& options, BoundedQueue<Frame>& decoded,
                         const std::atomic<bool>* stop, const std::atomic<bool>& abort) {
  ReaderReport report;
  std::int64_t in_range = 0;
  std::int64_t taken = 0;
  int attempts = 0;
  bool reached_end = false;  // the range or the frame limit ended reading, not the source
  double last_ms = -1;
  try {
    while (!abort && !stopping(stop)) {
      Frame frame;
      if (!source.read(frame)) {
        if (source.live() && attempts < options.reconnect) {
          pause(std::min(8000.0, 500.0 * std::pow(2.0, attempts)), stop, abort);
          ++attempts;
          ++report.reconnects;
          source.reopen();
          continue;
        }
        if (source.live() && options.reconnect > 0) {
          report.source_error = cat(source.name(), " was lost and did not come back after ", attempts, " reconnects");
        }
        break;
      }
      attempts = 0;
      ++report.read;
      last_ms = frame.timestamp_ms;
      if (frame.index < options.start_frame || frame.timestamp_ms < options.start_ms) continue;
      if ((options.end_frame >= 0 && frame.index >= options.end_frame) ||
          (options.end_ms >= 0 && frame.timestamp_ms >= options.end_ms)) {
        reached_end = true;
        break;
      }
      if (in_range++ % options.every != 0) continue;
      if (!decoded.push(std::move(frame))) break;
      if (options.max_frames > 0 && ++taken >= options.max_frames) {
        reached_end = true;
        break;
      }
    }
  } catch (const std::exception& error) {
    report.source_error = cat("reading ", source.name(), " failed after ", report.read, " frames: ", error.what());
  }
  report.interrupted = stopping(stop);
  if (!reached_end && !report.interrupted && !abort && !source.live()) report.missing = missing_frames(source, report.read, last_ms);
  decoded.close();
  return report;
}

}  // namespace

VideoSummary run_video(FrameSource& source, const Detector& detector, const VideoOptions& options,
                       const std::function<void(FrameResult&)>& on_result, const std::atomic<bool>* stop) {
  check_options(options);
  JobOptions job;
  job.batch = options.batch;
  job.tiles = options.tiles;
  check_job_options(job);  // before any frame is read
  if (options.tiles) {
    const Shape net = detector.network().graph().input;
    tile_layout(net.w, net.h, net.w, net.h, *options.tiles);  // options out of range fail here, not per frame
  }
  const auto start = std::chrono::steady_clock::now();
  const bool drop = options.drop_frames.value_or(source.live());
  if (drop && options.batch > 1) {
    throw Error(cat("a batch of ", options.batch, " frames needs every frame, but frames are dropped (the default for ",
                    "live sources) to keep up; turn dropping off (--no-drop-frames, VideoOptions::drop_frames) or use a batch of 1"));
  }
  // Live: one slot that a newer frame replaces, taken by one worker when
  // it is free, so a frame waits for at most one inference. Files: every
  // frame, in order, as many in flight as the job's workers.
  BoundedQueue<Frame> decoded(drop ? 1 : options.queue_frames, drop);
  std::atomic<bool> abort{false};
  ReaderReport report;
  std::thread reader([&] { report = read_frames(source, options, decoded, stop, abort); });

  ImageStream frames;
  frames.next = [&]() -> std::optional<StreamItem> {
    std::optional<Frame> frame = decoded.pop();
    if (!frame) return std::nullopt;
    StreamItem item;
    item.name = cat("frame ", frame->index);
    const cv::Mat bgr = frame->bgr;  // shares the pixels
    item.load = [bgr] {
      return image_from_pixels(bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step[0]), PixelFormat::BGR);
    };
    item.attached = std::move(*frame);
    return item;
  };
  frames.cancel = [&] {
    abort = true;
    decoded.abandon();
  };
  if (drop) job.workers = 1;

  VideoSummary summary;
  try {
    const JobSummary done = run_detection_job(detector, frames, job, [&](JobItem&& item) {
      FrameResult result;
      result.frame = std::any_cast<Frame&&>(std::move(item.attached));
      result.detections = std::move(item.detections);
      result.error = std::move(item.error);
      on_result(result);
    });
    summary.processed = static_cast<std::int64_t>(done.items);
    summary.failed = static_cast<std::int64_t>(done.failed);
    summary.detections = static_cast<std::int64_t>(done.detections);
  } catch (...) {
    frames.cancel();
    reader.join();
    throw;
  }
  reader.join();
  summary.read = report.read;
  summary.missing = report.missing;
  summary.reconnects = report.reconnects;
  summary.interrupted = report.interrupted;
  summary.source_error = report.source_error;
  summary.dropped = decoded.replaced();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

void annotate_frame(cv::Mat& bgr, const std::vector<Detection>& detections, int classes) {
  if (bgr.type() != CV_8UC3) throw Error("annotate_frame needs an 8-bit 3-channel BGR frame");
  if (detections.empty()) return;
  Image image = image_from_pixels(bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step[0]), PixelFormat::BGR);
  draw_detections(image, detections, classes);
  const std::size_t plane = static_cast<std::size_t>(image.w) * static_cast<std::size_t>(image.h);
  const auto byte = [](float v) { return static_cast<unsigned char>(std::lround(std::clamp(v, 0.f, 1.f) * 255.f)); };
  for (int y = 0; y < image.h; ++y) {
    unsigned char* row = bgr.ptr<unsigned char>(y);
    for (int x = 0; x < image.w; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(image.w) + static_cast<std::size_t>(x);
      row[3 * x + 2] = byte(image.data[i]);
      row[3 * x + 1] = byte(image.data[plane + i]);
      row[3 * x] = byte(image.data[2 * plane + i]);
    }
  }
}

}  // namespace dusk
