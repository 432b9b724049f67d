// Annotated video output through OpenCV's FFmpeg writer, made under a
// temporary name and renamed when the container is closed.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <opencv2/videoio.hpp>

#include "dusk/error.hpp"
#include "dusk/video.hpp"
#include "dusk/text.hpp"

namespace dusk {

namespace {

namespace fs = std::filesystem;

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// The FourCC for an extension; 0 when there is none.
int codec_for(const std::string& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".mp4" || ext == ".m4v" || ext == ".mov") return cv::VideoWriter::fourcc('m', 'p', '4', 'v');
  if (ext == ".avi") return cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
  if (ext == ".mkv") return cv::VideoWriter::fourcc('X', 'V', 'I', 'D');
  return 0;
}

}  // namespace

void check_video_output(const std::string& path) {
  std::error_code error;
  if (fs::is_directory(path, error)) throw Error(cat("cannot write video ", path, ": it is a directory; give a file name"));
  if (codec_for(path) == 0) {
    throw Error(cat("no video codec for '", path, "': name the output .mp4, .m4v, .mov (MPEG-4), .avi (Motion JPEG) or .mkv"));
  }
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, error)) {
    throw Error(cat("cannot write video ", path, ": directory ", parent.string(), " does not exist"));
  }
}

struct VideoFileWriter::State {
  std::string path;
  std::string temp;
  cv::VideoWriter writer;
  cv::Size size;
  bool finished = false;
};

VideoFileWriter::VideoFileWriter(const std::string& path, double fps, int width, int height) : state_(std::make_unique<State>()) {
  check_video_output(path);
  const fs::path target(path);
  state_->path = path;
  state_->temp = (target.parent_path() / cat(".", target.stem().string(), ".partial-", ::getpid(), target.extension().string())).string();
  state_->size = cv::Size(width, height);
  if (!state_->writer.open(state_->temp, cv::CAP_FFMPEG, codec_for(path), fps > 0 ? fps : 25.0, state_->size, true)) {
    std::error_code ignored;
    fs::remove(state_->temp, ignored);
    throw Error(cat("cannot write video ", path, ": OpenCV's FFmpeg writer refused ", width, "x", height, " at ", fps,
                    " fps with this extension's codec; try another extension (.avi, .mp4)"));
  }
}

VideoFileWriter::~VideoFileWriter() {
  try {
    finish();
  } catch (const Error&) {
    // A destructor cannot report; the temporary file stays for inspection.
  }
}

void VideoFileWriter::write(const cv::Mat& bgr) {
  if (state_->finished) throw Error(cat("video ", state_->path, " is already finished"));
  if (bgr.size() != state_->size || bgr.type() != CV_8UC3) {
    throw Error(cat("frame ", frames_, " is ", bgr.cols, "x", bgr.rows, " but video ", state_->path, " is ",
                    state_->size.width, "x", state_->size.height, " (8-bit BGR)"));
  }
  state_->writer.write(bgr);
  ++frames_;
}

void VideoFileWriter::finish() {
  if (state_->finished) return;
  state_->finished = true;
  state_->writer.release();  // writes the container's index: the file is playable from here
  std::error_code error;
  fs::rename(state_->temp, state_->path, error);
  if (error) throw Error(cat("cannot move the finished video to ", state_->path, ": ", error.message()));
}

}  // namespace dusk
