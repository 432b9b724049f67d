// run_video(): reader ▶ preprocessing ▶ inference ▶ caller, on bounded queues.
#include <algorithm>
#include <cmath>
#include <thread>

#include "dusk/error.hpp"
#include "dusk/video.hpp"
#include "dusk/text.hpp"
#include "video/bounded_queue.hpp"

namespace dusk {

namespace {

// A frame converted to dusk's image and, unless tiles are asked for, already
// fitted to the network.
struct Prepared {
  Frame frame;
  Image image;
  std::string error;
};

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
  if (options.batch < 1) throw Error(cat("a batch of ", options.batch, " frames: use 1 or more"));
  if (options.batch > 1 && options.tiles) {
    throw Error("batches and tiles do not go together: a tiled frame is already a batch of its tiles");
  }
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

Prepared prepare(Frame frame, const Detector& detector, bool fit) {
  Prepared p;
  try {
    p.image = image_from_pixels(frame.bgr.data, frame.bgr.cols, frame.bgr.rows, static_cast<int>(frame.bgr.step[0]),
                                PixelFormat::BGR);
    if (fit) p.image = detector.fit_to_network(p.image);
  } catch (const std::bad_alloc&) {
    p.error = cat("frame ", frame.index, ": out of memory while preparing it");
  } catch (const Error& error) {
    p.error = cat("frame ", frame.index, ": ", error.what());
  }
  p.frame = std::move(frame);
  return p;
}

// Frames through the network in one pass; a frame that failed to prepare
// passes through with its error, a failed pass fails every frame in it.
std::vector<FrameResult> infer_batch(std::vector<Prepared> batch, const Detector& detector) {
  std::vector<FrameResult> results(batch.size());
  std::vector<FittedImage> fitted;
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    results[i].error = std::move(batch[i].error);
    if (results[i].error.empty()) {
      fitted.push_back({std::move(batch[i].image), batch[i].frame.bgr.cols, batch[i].frame.bgr.rows});
      ready.push_back(i);
    }
  }
  try {
    std::vector<std::vector<Detection>> found = detector.detect_fitted(std::move(fitted));
    for (std::size_t j = 0; j < ready.size(); ++j) results[ready[j]].detections = std::move(found[j]);
  } catch (const std::bad_alloc&) {
    for (const std::size_t i : ready) results[i].error = cat("frame ", batch[i].frame.index, ": out of memory while detecting");
  } catch (const Error& error) {
    for (const std::size_t i : ready) results[i].error = cat("frame ", batch[i].frame.index, ": ", error.what());
  }
  for (std::size_t i = 0; i < batch.size(); ++i) results[i].frame = std::move(batch[i].frame);
  return results;
}

FrameResult infer(Prepared p, const Detector& detector, const VideoOptions& options) {
  FrameResult result;
  result.error = std::move(p.error);
  if (result.error.empty()) {
    try {
      result.detections = options.tiles ? detect_tiled(detector, p.image, *options.tiles)
                                         : detector.detect_fitted(p.image, p.frame.bgr.cols, p.frame.bgr.rows);
    } catch (const std::bad_alloc&) {
      result.error = cat("frame ", p.frame.index, ": out of memory while detecting");
    } catch (const Error& error) {
      result.error = cat("frame ", p.frame.index, ": ", error.what());
    }
  }
  result.frame = std::move(p.frame);
  return result;
}

}  // namespace

VideoSummary run_video(FrameSource& source, const Detector& detector, const VideoOptions& options,
                       const std::function<void(FrameResult&)>& on_result, const std::atomic<bool>* stop) {
  check_options(options);
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
  const bool fit_early = !options.tiles;
  // Live: one slot that a newer frame replaces, and no preprocessing queue,
  // so a frame waits for at most one inference. Files: every frame, in order.
  BoundedQueue<Frame> decoded(drop ? 1 : options.queue_frames, drop);
  // Room for a whole batch, so the next one is prepared while one runs.
  const std::size_t room = std::max(options.queue_frames, static_cast<std::size_t>(options.batch));
  BoundedQueue<Prepared> prepared(room, false);
  BoundedQueue<FrameResult> results(room, false);
  std::atomic<bool> abort{false};

  ReaderReport report;
  std::thread reader([&] { report = read_frames(source, options, decoded, stop, abort); });
  std::thread preparer;
  if (!drop) {
    preparer = std::thread([&] {
      while (std::optional<Frame> frame = decoded.pop()) {
        if (!prepared.push(prepare(std::move(*frame), detector, fit_early))) break;
      }
      prepared.close();
    });
  }
  const auto infer_batches = [&] {  // every frame, options.batch at a time
    while (true) {
      std::vector<Prepared> batch;
      while (batch.size() < static_cast<std::size_t>(options.batch)) {
        std::optional<Prepared> next = prepared.pop();
        if (!next) break;
        batch.push_back(std::move(*next));
      }
      if (batch.empty()) return;
      for (FrameResult& result : infer_batch(std::move(batch), detector)) {
        if (!results.push(std::move(result))) return;
      }
    }
  };
  std::thread inference([&] {
    if (options.batch > 1) {
      infer_batches();
      results.close();
      return;
    }
    while (true) {
      std::optional<Prepared> next;
      if (drop) {
        std::optional<Frame> frame = decoded.pop();
        if (frame) next = prepare(std::move(*frame), detector, fit_early);
      } else {
        next = prepared.pop();
      }
      if (!next || !results.push(infer(std::move(*next), detector, options))) break;
    }
    results.close();
  });
  const auto join_all = [&] {
    reader.join();
    if (preparer.joinable()) preparer.join();
    inference.join();
  };

  VideoSummary summary;
  try {
    while (std::optional<FrameResult> result = results.pop()) {
      ++summary.processed;
      if (!result->error.empty()) ++summary.failed;
      summary.detections += static_cast<std::int64_t>(result->detections.size());
      on_result(*result);
    }
  } catch (...) {
    abort = true;
    decoded.abandon();
    prepared.abandon();
    results.abandon();
    join_all();
    throw;
  }
  join_all();
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
