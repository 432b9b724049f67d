// `dusk detect` on a video file, image sequence, camera or stream: the
// library's frame loop, with annotated video, JSON lines and progress.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <regex>

#include "cli_common.hpp"
#include "detect_args.hpp"
#include "dusk/options.hpp"
#include "dusk/video.hpp"
#include "interrupt.hpp"
#include "progress.hpp"
#include "track_output.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

namespace fs = std::filesystem;

struct RangePoint {
  std::int64_t frame = -1;
  double ms = -1;
};

// "120" is a frame index; "12.5s", "1:05" and "1:02:03.5" are times.
RangePoint parse_range_point(const std::string& text, const char* flag) {
  static const std::regex frame(R"(\d+)");
  static const std::regex seconds(R"((\d+(?:\.\d*)?)s)");
  static const std::regex clock(R"((?:(\d+):)?(\d+):(\d+(?:\.\d*)?))");
  std::smatch m;
  RangePoint point;
  if (std::regex_match(text, m, frame)) {
    point.frame = std::stoll(text);
  } else if (std::regex_match(text, m, seconds)) {
    point.ms = std::stod(m[1].str()) * 1000.0;
  } else if (std::regex_match(text, m, clock)) {
    const double hours = m[1].matched ? std::stod(m[1].str()) : 0.0;
    point.ms = ((hours * 60 + std::stod(m[2].str())) * 60 + std::stod(m[3].str())) * 1000.0;
  } else {
    throw UsageError(cat(flag, " '", text, "' is neither a frame index (120) nor a time (12.5s, 1:05, 1:02:03.5)"));
  }
  return point;
}

VideoOptions video_options(const DetectArgs& args) {
  if (args.drop_frames && args.no_drop_frames) throw UsageError("--drop-frames and --no-drop-frames contradict each other");
  if (args.every < 1) throw UsageError("--every must be 1 or more");
  if (args.max_frames == 0 || args.max_frames < -1) throw UsageError("--max-frames must be positive");
  VideoOptions options;
  options.every = args.every;
  options.max_frames = args.max_frames;
  options.reconnect = args.reconnect;
  options.batch = args.batch;
  if (args.drop_frames) options.drop_frames = true;
  if (args.no_drop_frames) options.drop_frames = false;
  if (!args.start.empty()) {
    const RangePoint p = parse_range_point(args.start, "--start");
    if (p.frame >= 0) options.start_frame = p.frame;
    if (p.ms >= 0) options.start_ms = p.ms;
  }
  if (!args.end.empty()) {
    const RangePoint p = parse_range_point(args.end, "--end");
    options.end_frame = p.frame;
    options.end_ms = p.ms;
  }
  options.tiles = tiles_option(args.tiles, args.tile_overlap);
  return options;
}

// A text output written line by line under a temporary name and moved into
// place when closed, so it is whole, and holds every finished frame, even
// when the run ends early.
class LineFile {
 public:
  explicit LineFile(const std::string& path) : path_(path) {
    const fs::path target(path);
    temp_ = (target.parent_path() / cat(".", target.filename().string(), ".partial-", ::getpid())).string();
    file_ = std::fopen(temp_.c_str(), "wb");
    if (file_ == nullptr) throw Error(cat("cannot write ", path, ": ", std::strerror(errno)));
  }
  ~LineFile() {
    try {
      close();
    } catch (const Error&) {  // a destructor cannot report; the partial file stays
    }
  }
  LineFile(const LineFile&) = delete;
  LineFile& operator=(const LineFile&) = delete;
  void write(const std::string& line) {
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
      throw Error(cat("cannot write ", path_, ": ", std::strerror(errno), " (disk full?)"));
    }
  }
  void close() {
    if (file_ == nullptr) return;
    std::fclose(file_);
    file_ = nullptr;
    std::error_code error;
    fs::rename(temp_, path_, error);
    if (error) throw Error(cat("cannot move ", path_, " into place: ", error.message()));
  }

 private:
  std::string path_;
  std::string temp_;
  std::FILE* file_ = nullptr;
};

// Frames a file run will process, for the progress line; -1 when unknown.
std::int64_t expected_frames(const FrameSource& source, const VideoOptions& options) {
  std::int64_t count = source.frame_count();
  if (count < 0 || source.live() || options.start_ms > 0 || options.end_ms >= 0) return -1;
  if (options.end_frame >= 0) count = std::min(count, options.end_frame);
  count = std::max<std::int64_t>(0, count - options.start_frame);
  count = (count + options.every - 1) / options.every;
  if (options.max_frames > 0) count = std::min(count, options.max_frames);
  return count;
}

}  // namespace

int run_detect_video(const DetectArgs& args, const Detector& detector, int classes) {
  const std::string& input = args.inputs.front();
  if (!args.out_dir.empty()) throw UsageError("--out-dir is for images; for a video use --out-video FILE");
  const VideoOptions options = video_options(args);
  for (const std::string& output : {args.out_video, args.json, args.jsonl == "-" ? std::string() : args.jsonl}) {
    if (!output.empty()) refuse_to_overwrite(output, {input});
  }
  if (!args.out_video.empty()) check_video_output(args.out_video);
  const CountSpecs count_specs = parse_count_specs(args);
  std::unique_ptr<FrameSource> source = open_frame_source(input);
  std::unique_ptr<TrackingRun> tracking;
  if (args.track) {
    // The tracker's buffer counts the frames it sees: --every N sees 1/N of the rate.
    tracking = std::make_unique<TrackingRun>(args, count_specs, source->fps() / static_cast<double>(options.every), classes);
    if (source->width() > 0 && source->height() > 0) tracking->set_frame_size(source->width(), source->height());
  }

  std::unique_ptr<LineFile> jsonl_file;
  if (!args.jsonl.empty() && args.jsonl != "-") jsonl_file = std::make_unique<LineFile>(args.jsonl);
  std::unique_ptr<VideoFileWriter> video;
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  Progress progress("frames", expected_frames(*source, options));
  std::int64_t done = 0;

  const auto on_result = [&](FrameResult& result) {
    const Frame& frame = result.frame;
    nlohmann::ordered_json line = {{"frame_id", frame.index}, {"timestamp_ms", std::round(frame.timestamp_ms * 1000) / 1000}};
    if (tracking && !tracking->sized()) tracking->set_frame_size(frame.bgr.cols, frame.bgr.rows);
    if (!result.error.empty()) {
      line["error"] = result.error;
      if (tracking) {  // the tracker still sees the frame go by, empty
        std::vector<Detection> none;
        nlohmann::ordered_json ignored;
        tracking->update(none, frame.timestamp_ms, ignored);
      }
    } else if (tracking) {
      tracking->update(result.detections, frame.timestamp_ms, line);
    } else {
      line["objects"] = objects_value(result.detections);
    }
    if (!args.jsonl.empty()) {
      const std::string text = line.dump() + "\n";
      if (jsonl_file) {
        jsonl_file->write(text);
      } else {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      }
    }
    if (!args.json.empty() && result.error.empty()) json.push_back(line);
    progress.clear();
    if (!result.error.empty()) {
      std::cerr << "dusk: error: " << input << ": " << result.error << "\n";
    } else if (args.jsonl != "-") {
      print_detections(cat(input, " frame ", frame.index), result.detections, -1);
    }
    if (!args.out_video.empty()) {
      if (!video) video = std::make_unique<VideoFileWriter>(args.out_video, source->fps(), frame.bgr.cols, frame.bgr.rows);
      if (tracking) {
        tracking->draw(result.frame.bgr);
      } else {
        annotate_frame(result.frame.bgr, result.detections, classes);
      }
      video->write(result.frame.bgr);
    }
    progress.restore();
    progress.update(++done);
  };
  const VideoSummary summary = run_video(*source, detector, options, on_result, &catch_interrupts());
  progress.clear();
  if (video) video->finish();
  if (jsonl_file) jsonl_file->close();
  if (!args.json.empty()) {
    // With --track: {"frames": [...], "totals": {...}}; without: the frames alone.
    nlohmann::ordered_json document = json;
    if (tracking) document = {{"frames", std::move(json)}, {"totals", tracking->totals_json()}};
    const std::string text = document.dump(1) + "\n";
    write_file_atomic(args.json, text.data(), text.size());
  }

  if (summary.missing > 0) {
    std::cerr << "dusk: error: " << input << ": frames " << summary.read << "-" << summary.read + summary.missing - 1 << " ("
              << summary.missing << " of the " << source->frame_count()
              << " its header promises) did not decode; the file is damaged or cut short\n";
  }
  if (!summary.source_error.empty()) std::cerr << "dusk: error: " << summary.source_error << "\n";
  std::fprintf(stderr,
               "dusk: %lld frames processed (%lld read, %lld dropped, %lld failed, %lld missing), %lld detections, "
               "%.1f frames/s%s%s\n",
               static_cast<long long>(summary.processed), static_cast<long long>(summary.read),
               static_cast<long long>(summary.dropped), static_cast<long long>(summary.failed),
               static_cast<long long>(summary.missing), static_cast<long long>(summary.detections),
               static_cast<double>(summary.processed) / std::max(summary.seconds, 1e-9),
               tracking ? (", " + tracking->summary()).c_str() : "", summary.interrupted ? ", interrupted: outputs hold the frames finished" : "");
  if (summary.interrupted) return 130;
  return summary.ok() ? 0 : 1;
}

}  // namespace dusk::cli
