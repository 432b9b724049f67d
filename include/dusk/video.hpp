#pragma once
// Detection on moving pictures: video files, image sequences, cameras and
// network streams, read through OpenCV's videoio (FFmpeg backend).
//
// run_video() is the frame loop `dusk detect` uses: a reader thread decodes
// and the job layer (run.hpp) converts, fits and detects the frames on its
// workers, and the caller's thread gets each result in order, so decoding
// and writing overlap inference and throughput is set by inference alone.
// The queue and the job's window are bounded: memory stays flat over any
// length of video. For live sources the reader keeps only the newest frame
// and one worker takes it when free, so latency stays one frame instead of
// a growing queue (drops are counted).
//
// Link dusk::dusk_video (it brings OpenCV's core and videoio).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "dusk/counting.hpp"
#include "dusk/detector.hpp"
#include "dusk/tiles.hpp"

namespace dusk {

struct Frame {
  std::int64_t index = 0;     // 0-based position in the source
  // Presentation time: the first frame of a file at 0, never going back;
  // from the container where it says something usable, else index / fps.
  // Cameras: since opening.
  double timestamp_ms = 0;
  cv::Mat bgr;                // 8-bit, 3 channels
  std::chrono::steady_clock::time_point captured;  // when it was read
};

// Where frames come from. Implement it to feed run_video() from anything
// (an application's own capture, a test's synthetic stream).
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next frame; false at the end of the source or when reading fails.
  virtual bool read(Frame& frame) = 0;
  // Cameras and network streams: frames keep coming whether or not they are
  // taken, so stale ones are dropped rather than queued.
  virtual bool live() const = 0;
  virtual std::string name() const = 0;
  virtual double fps() const { return 0; }                 // 0: unknown
  virtual std::int64_t frame_count() const { return -1; }  // what the header says; -1: unknown
  // The frames' size as the source announces it before any is read; 0: unknown.
  virtual int width() const { return 0; }
  virtual int height() const { return 0; }
  // After a failure: opens the source again; false if it cannot.
  virtual bool reopen() { return false; }
};

// Opens a video file, an image sequence ("frames/%05d.png"), a camera
// ("/dev/video0" or an index such as "0") or a URL (rtsp://, http://, ...).
// Throws dusk::Error with one line saying what could not be opened.
std::unique_ptr<FrameSource> open_frame_source(const std::string& source);

// True for what open_frame_source() takes and a still image does not: a
// path with a video extension, a sequence pattern, a camera, a URL.
bool looks_like_video(const std::string& source);

struct VideoOptions {
  std::int64_t every = 1;        // process every Nth frame of the selected range
  std::int64_t start_frame = 0;  // first frame index processed
  double start_ms = 0;           // and no frame before this time
  std::int64_t end_frame = -1;   // stop before this frame index; -1: no limit
  double end_ms = -1;            // stop before this time; < 0: no limit
  std::int64_t max_frames = -1;  // stop after processing this many; -1: no limit
  std::optional<bool> drop_frames;  // keep only the newest frame; default: on for live sources
  int reconnect = 0;             // live sources: reopen this many times (with backoff) after a failure
  std::optional<TileOptions> tiles;  // detect by tiles (see dusk/tiles.hpp)
  std::size_t queue_frames = 4;  // frames each queue holds (files)
  // Frames per network pass (Detector::detect_fitted of a batch). Needs every
  // frame (no dropping) and whole frames (no tiles).
  int batch = 1;
};

struct FrameResult {
  Frame frame;
  std::vector<Detection> detections;
  std::string error;  // non-empty: this frame failed (the run goes on)
};

struct VideoSummary {
  std::int64_t read = 0;        // frames decoded from the source
  std::int64_t processed = 0;   // frames detected on (including failed ones)
  std::int64_t detections = 0;
  std::int64_t dropped = 0;     // live: frames replaced by newer ones before detection
  std::int64_t failed = 0;      // frames whose detection failed
  std::int64_t missing = 0;     // frames the header promised that never decoded
  int reconnects = 0;
  bool interrupted = false;     // `stop` was set
  std::string source_error;     // why reading ended early, if it did
  double seconds = 0;
  bool ok() const { return failed == 0 && missing == 0 && source_error.empty(); }
};

// Runs `detector` on the selected frames of `source`. `on_result` is called
// on the calling thread for every processed frame, in source order; what it
// throws ends the run (after the threads stop) and propagates. Setting
// `stop` (e.g. from a signal handler) ends reading; frames already read are
// still finished. Throws dusk::Error for options out of range.
VideoSummary run_video(FrameSource& source, const Detector& detector, const VideoOptions& options,
                       const std::function<void(FrameResult&)>& on_result, const std::atomic<bool>* stop = nullptr);

// Draws detections on an 8-bit BGR frame as draw_detections() does on images.
void annotate_frame(cv::Mat& bgr, const std::vector<Detection>& detections, int classes);

// Draws tracked objects as annotate_frame() draws detections, with the
// track ID in the tag ("person 7 87%"), a short trail of each track's
// recent bottom-centre points, and a counter's lines (with their in/out
// totals) and zones. Keeps the trails between frames: one overlay per video.
class TrackOverlay {
 public:
  explicit TrackOverlay(int classes, std::size_t trail_points = 30) : classes_(classes), trail_points_(trail_points) {}
  void draw(cv::Mat& bgr, const std::vector<TrackedObject>& objects, const std::vector<std::int64_t>& removed,
            const Counter* counter);

 private:
  int classes_;
  std::size_t trail_points_;
  struct Trail {
    int class_id = 0;
    std::vector<cv::Point> points;  // oldest first
  };
  std::map<std::int64_t, Trail> trails_;
};

// Writes an annotated video. The codec follows the extension (.mp4 .m4v
// .mov: MPEG-4 Part 2 "mp4v"; .avi: Motion JPEG; .mkv: MPEG-4 "XVID").
// The file is written under a temporary name beside the target and renamed
// by finish(), so a reader never sees it half-made; the destructor finishes
// too, so a run that ends early still leaves a playable file.
class VideoFileWriter {
 public:
  VideoFileWriter(const std::string& path, double fps, int width, int height);
  ~VideoFileWriter();
  VideoFileWriter(const VideoFileWriter&) = delete;
  VideoFileWriter& operator=(const VideoFileWriter&) = delete;
  void write(const cv::Mat& bgr);
  void finish();
  std::int64_t frames() const { return frames_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::int64_t frames_ = 0;
};

// Throws dusk::Error if `path` cannot take an output video: its extension
// has no codec here, or it names a directory.
void check_video_output(const std::string& path);

}  // namespace dusk
