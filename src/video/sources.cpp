// Frame sources on OpenCV's videoio: files and URLs through FFmpeg, image
// sequences through OpenCV's image reader, cameras through V4L2.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <regex>

#include "dusk/error.hpp"
#include "dusk/video.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

namespace fs = std::filesystem;

enum class SourceKind { File, Sequence, Camera, Url };

bool is_url(const std::string& s) { return s.find("://") != std::string::npos; }

// "3" or "/dev/video3" -> 3.
std::optional<int> camera_index(const std::string& s) {
  static const std::regex device(R"((?:/dev/video)?(\d{1,3}))");
  std::smatch match;
  if (!std::regex_match(s, match, device)) return std::nullopt;
  return std::stoi(match[1].str());
}

// A printf-style frame number: %d, %05d, ...
bool is_sequence(const std::string& s) {
  static const std::regex pattern(R"(%0?\d*d)");
  return std::regex_search(s, pattern);
}

SourceKind kind_of(const std::string& s) {
  if (is_url(s)) return SourceKind::Url;
  std::error_code error;
  if (camera_index(s) && !fs::is_regular_file(s, error)) return SourceKind::Camera;
  if (is_sequence(s)) return SourceKind::Sequence;
  return SourceKind::File;
}

// Every frame leaves as 8-bit BGR whatever the decoder gave.
void to_bgr(cv::Mat& mat) {
  if (mat.depth() != CV_8U) mat.convertTo(mat, CV_8U);
  if (mat.channels() == 1) cv::cvtColor(mat, mat, cv::COLOR_GRAY2BGR);
  if (mat.channels() == 4) cv::cvtColor(mat, mat, cv::COLOR_BGRA2BGR);
}

class CaptureSource : public FrameSource {
 public:
  CaptureSource(std::string source, SourceKind kind) : source_(std::move(source)), kind_(kind) {
    if (kind_ == SourceKind::File) {
      std::error_code error;
      if (!fs::exists(source_, error)) throw Error(cat("cannot open video ", source_, ": no such file"));
      if (fs::is_directory(source_, error)) throw Error(cat("cannot open video ", source_, ": it is a directory"));
    }
    if (!open()) {
      throw Error(cat("cannot open ", describe(), " ", source_, ": OpenCV's ",
                      kind_ == SourceKind::Camera ? "V4L2" : kind_ == SourceKind::Sequence ? "image-sequence" : "FFmpeg",
                      " backend could not read it; check the path, the URL or the device, and that FFmpeg knows the format"));
    }
    fps_ = capture_.get(cv::CAP_PROP_FPS);
    if (!(fps_ > 0 && fps_ < 1000)) fps_ = 0;
    const double count = capture_.get(cv::CAP_PROP_FRAME_COUNT);
    frame_count_ = kind_ == SourceKind::File && count > 0 && count < 1e9 ? static_cast<std::int64_t>(count) : -1;
    const double w = capture_.get(cv::CAP_PROP_FRAME_WIDTH), h = capture_.get(cv::CAP_PROP_FRAME_HEIGHT);
    if (w > 0 && h > 0 && w < 1e6 && h < 1e6) {
      width_ = static_cast<int>(w);
      height_ = static_cast<int>(h);
    }
  }

  bool read(Frame& frame) override {
    cv::Mat mat;
    if (!capture_.read(mat) || mat.empty()) return false;
    to_bgr(mat);
    frame.bgr = std::move(mat);
    frame.index = next_index_++;
    frame.captured = std::chrono::steady_clock::now();
    if (kind_ == SourceKind::File || kind_ == SourceKind::Url) {
      frame.timestamp_ms = presentation_time(capture_.get(cv::CAP_PROP_POS_MSEC));
    } else if (kind_ == SourceKind::Sequence) {
      frame.timestamp_ms = static_cast<double>(frame.index) * 1000.0 / (fps_ > 0 ? fps_ : 25.0);
    } else {
      frame.timestamp_ms = std::chrono::duration<double, std::milli>(frame.captured - opened_).count();
    }
    return true;
  }

  bool live() const override { return kind_ == SourceKind::Camera || kind_ == SourceKind::Url; }
  std::string name() const override { return source_; }
  double fps() const override { return fps_; }
  std::int64_t frame_count() const override { return frame_count_; }
  int width() const override { return width_; }
  int height() const override { return height_; }
  bool reopen() override { return live() && open(); }

 private:
  // OpenCV's position readings, made a presentation time. Some containers
  // (AVI without timestamps, e.g. opencv-doc's Megamind.avi) report every
  // frame one frame late and the last as 0: times count from the first
  // frame's reading, and a reading that is not after the previous frame's
  // time is replaced by one frame interval more (1 / fps, else the mean
  // interval so far, else 40 ms).
  double presentation_time(double reading) {
    double time = reading;
    if (!origin_) {
      origin_ = std::isfinite(reading) && reading >= 0 ? reading : 0.0;
      time = 0;
    } else {
      time = reading - *origin_;
    }
    if (last_time_ && !(std::isfinite(time) && time > *last_time_)) {
      const double interval = fps_ > 0                ? 1000.0 / fps_
                              : frames_timed_ > 1     ? *last_time_ / static_cast<double>(frames_timed_ - 1)
                                                      : 40.0;
      time = *last_time_ + (interval > 0 ? interval : 40.0);
    }
    last_time_ = time;
    ++frames_timed_;
    return time;
  }

  bool open() {
    capture_.release();
    opened_ = std::chrono::steady_clock::now();
    switch (kind_) {
      case SourceKind::File:
      case SourceKind::Url:
        return capture_.open(source_, cv::CAP_FFMPEG);
      case SourceKind::Sequence:
        return capture_.open(source_, cv::CAP_IMAGES);
      case SourceKind::Camera:
        return capture_.open(*camera_index(source_), cv::CAP_V4L2);
    }
    return false;
  }

  std::string describe() const {
    switch (kind_) {
      case SourceKind::File: return "video";
      case SourceKind::Url: return "stream";
      case SourceKind::Sequence: return "image sequence";
      case SourceKind::Camera: return "camera";
    }
    return "source";
  }

  std::string source_;
  SourceKind kind_;
  cv::VideoCapture capture_;
  double fps_ = 0;
  std::int64_t frame_count_ = -1;
  std::int64_t next_index_ = 0;
  int width_ = 0;
  int height_ = 0;
  std::optional<double> origin_;     // the first frame's position reading
  std::optional<double> last_time_;  // the previous frame's presentation time
  std::int64_t frames_timed_ = 0;
  std::chrono::steady_clock::time_point opened_;
};

bool has_video_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* known : {".avi", ".mp4", ".m4v", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts",
                            ".mts", ".m2ts", ".3gp", ".ogv", ".mjpeg", ".mjpg", ".h264", ".h265", ".hevc", ".y4m", ".vob"}) {
    if (ext == known) return true;
  }
  return false;
}

}  // namespace

bool looks_like_video(const std::string& source) {
  const SourceKind kind = kind_of(source);
  return kind != SourceKind::File || (has_video_extension(source) && !has_image_extension(source));
}

std::unique_ptr<FrameSource> open_frame_source(const std::string& source) {
  return std::make_unique<CaptureSource>(source, kind_of(source));
}

}  // namespace dusk
