// `dusk detect`: detections for images and directories of images, printed
// like Darknet's -ext_output, optionally as Darknet's JSON and as annotated
// copies. A broken image is reported and the batch carries on.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "dusk/options.hpp"
#include "commands.hpp"
#include "detect_args.hpp"
#include "names_lookup.hpp"
#include "progress.hpp"
#include "dusk/video.hpp"
#include "dusk/files.hpp"
#include "dusk/text.hpp"

namespace dusk::cli {

namespace {

namespace fs = std::filesystem;

struct Shard {
  std::size_t index = 0;
  std::size_t count = 1;
};

// "I/N" -> shard I of N (0-based).
Shard parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  Shard shard;
  try {
    std::size_t used = 0;
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    shard.index = std::stoul(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("index");
    shard.count = std::stoul(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw std::invalid_argument("count");
  } catch (const std::exception&) {
    throw UsageError("--shard '" + text + "' is not I/N; write it like 0/4 (shard 0 of 4)");
  }
  if (shard.count < 1 || shard.index >= shard.count) {
    throw UsageError("--shard " + text + ": I must be 0 to N-1 and N at least 1");
  }
  return shard;
}

// A stable split of the sorted inputs: shard I takes the I-th of N
// contiguous runs, so the shards' union is the whole list, each image once.
std::vector<std::string> take_shard(const std::vector<std::string>& images, const Shard& shard) {
  std::vector<std::string> sorted = images;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t begin = sorted.size() * shard.index / shard.count;
  const std::size_t end = sorted.size() * (shard.index + 1) / shard.count;
  return {sorted.begin() + static_cast<std::ptrdiff_t>(begin), sorted.begin() + static_cast<std::ptrdiff_t>(end)};
}


fs::path canonical_or_self(const fs::path& path) {
  std::error_code error;
  const fs::path canonical = fs::weakly_canonical(path, error);
  return error ? path : canonical;
}

// Outputs go to files of their own: never an input, never an input's directory.
void check_outputs(const DetectArgs& args, const std::vector<std::string>& images) {
  for (const std::string& image : images) {
    const fs::path input = canonical_or_self(image);
    if (!args.out_dir.empty() && canonical_or_self(args.out_dir) == input.parent_path()) {
      throw UsageError("--out-dir " + args.out_dir + " holds the input " + image +
                       "; annotated copies never go beside their inputs, so choose another directory");
    }
    if (!args.json.empty() && canonical_or_self(args.json) == input) {
      throw UsageError("--json " + args.json + " is one of the input images; choose another file name");
    }
    if (!args.jsonl.empty() && args.jsonl != "-" && canonical_or_self(args.jsonl) == input) {
      throw UsageError("--jsonl " + args.jsonl + " is one of the input images; choose another file name");
    }
  }
}

// Annotated copies keep the input's name; JPEG stays JPEG, the rest become PNG.
std::string annotated_path(const std::string& out_dir, const std::string& input, std::map<std::string, int>& used) {
  const fs::path path(input);
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool jpeg = ext == ".jpg" || ext == ".jpeg";
  const std::string stem = path.stem().string();
  const std::string suffix = jpeg ? ext : std::string(".png");
  const int seen = ++used[stem + suffix];
  const std::string name = seen == 1 ? stem + suffix : cat(stem, "_", seen, suffix);
  return (fs::path(out_dir) / name).string();
}


// Video inputs go alone; video-only options need one.
bool is_video_run(const DetectArgs& args) {
  std::size_t videos = 0;
  for (const std::string& input : args.inputs) {
    std::error_code error;
    if (!fs::is_directory(input, error) && looks_like_video(input)) ++videos;
  }
  if (videos > 0 && args.inputs.size() > 1) {
    throw UsageError("give one video source per run (or only images and directories); got " +
                     std::to_string(args.inputs.size()) + " inputs");
  }
  if (videos > 0 && !args.shard.empty()) throw UsageError("--shard splits lists of images, not a video");
  if (videos == 0) {
    const bool video_option = !args.out_video.empty() || args.every != 1 || !args.start.empty() || !args.end.empty() ||
                              args.max_frames != -1 || args.drop_frames || args.no_drop_frames || args.reconnect != 0 ||
                              args.track;
    if (video_option) {
      throw UsageError("--out-video, --every, --start, --end, --max-frames, --drop-frames, --reconnect and --track apply "
                       "to video sources (files, image sequences, cameras, URLs), and none was given");
    }
  }
  return videos > 0;
}

}  // namespace


// The library's record writer (record.hpp), as JSON values the video and tracking lines extend.
nlohmann::ordered_json objects_value(const std::vector<Detection>& detections) {
  return nlohmann::ordered_json::parse(objects_json(detections));
}

std::string& names_notice() {
  static std::string notice;
  return notice;
}

void print_detections(const std::string& what, const std::vector<Detection>& detections, double ms) {
  if (!names_notice().empty()) {  // said once, with the first results (an early error stays one line)
    std::cerr << names_notice() << std::flush;
    names_notice().clear();
  }
  if (ms >= 0) {
    std::printf("%s: Predicted in %.3f milli-seconds.\n", what.c_str(), ms);
  } else {
    std::printf("%s:\n", what.c_str());
  }
  for (const Detection& d : detections) {
    std::printf("%s: %.0f%%\t(left_x: %4.0f   top_y: %4.0f   width: %4.0f   height: %4.0f)\n", d.label.c_str(),
                static_cast<double>(d.confidence) * 100, std::round(d.box.left), std::round(d.box.top),
                std::round(d.box.width), std::round(d.box.height));
  }
  std::fflush(stdout);
}

namespace {

int run_detect(const DetectArgs& args) {
  const Size size = parse_size(args.size);
  if (args.tracking_option_given && !args.track) {
    throw UsageError("--track-high, --track-low, --track-match, --track-buffer, --count-line and --zone need --track");
  }
  if (args.track && args.threshold_given) {
    throw UsageError("--thresh does not go with --track: the tracker takes every detection above --track-low (" +
                     std::to_string(args.track_low).substr(0, 4) + "); set that instead");
  }
  if (args.track && args.track_low > args.track_high) {
    throw UsageError("--track-low must not be above --track-high");
  }
  DetectorOptions options;
  options.threshold = args.track ? args.track_low : args.threshold;
  options.nms = args.nms;
  options.nms_kind = nms_kind_option(args.nms_kind);
  options.letterbox = args.letterbox;
  options.resize = resize_option(args.resize);
  if (!args.names.empty()) options.labels = load_labels(args.names);
  const std::optional<TileOptions> tiles = tiles_option(args.tiles, args.tile_overlap);
  JobOptions job;  // for images; a video's frames run on the same layer (run_video)
  job.shell = Shell::Cli;
  job.batch = args.batch;
  job.tiles = tiles;
  check_job_options(job);
  const bool video = is_video_run(args);

  std::vector<std::string> images;
  if (!video) {
    images = expand_images(args.inputs, "detect on");
    if (!args.shard.empty()) images = take_shard(images, parse_shard(args.shard));
    check_outputs(args, images);
    if (!args.out_dir.empty()) fs::create_directories(args.out_dir);
  }

  NetworkOptions network_options{size.width, size.height, args.threads, backend_option(args.backend),
                                 args.max_memory_mb << 20};
  apply_precision_flags(args.precision, network_options);
  const Network network = load_network(args.cfg, args.weights, network_options);
  // A graph without heads has no classes; the Detector below says why it cannot detect.
  const int classes = network.graph().classes();
  if (args.names.empty() && classes > 0) {
    // Darknet users keep the names beside the model; use them when they fit.
    const FoundNames found = find_names(args.cfg, args.weights);
    if (!found.path.empty()) {
      std::vector<std::string> labels = load_labels(found.path);
      if (static_cast<int>(labels.size()) == classes) {
        names_notice() = cat("dusk: class names from ", found.path, " (", found.where, "; --names FILE chooses others)\n");
        options.labels = std::move(labels);
      }
    }
  }
  const Detector detector(network, options);
  if (!options.labels.empty() && static_cast<int>(options.labels.size()) < classes) {
    print_warnings({cat(args.names, " has ", options.labels.size(), " names but the network has ", classes,
                        " classes; the others are shown as class ids")});
  }
  if (video) return run_detect_video(args, detector, classes);

  // Annotated copies' names depend on the images before them, so they are
  // chosen up front; the images themselves run on the job's workers.
  std::vector<std::string> out_paths(images.size());
  if (!args.out_dir.empty()) {
    std::map<std::string, int> used_names;
    for (std::size_t i = 0; i < images.size(); ++i) out_paths[i] = annotated_path(args.out_dir, images[i], used_names);
  }
  // --jsonl: one line per image as it finishes (Darknet's -out object, the
  // image's size, or an error); to a file it goes whole, through a temporary.
  std::string jsonl_text;
  const auto jsonl_line = [&](const JobItem& item) {
    const std::string line = image_record_json(item, static_cast<int>(item.index) + 1, true);
    const std::string text = line + "\n";
    if (args.jsonl == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    } else {
      jsonl_text += text;
    }
  };
  Progress progress("images", static_cast<std::int64_t>(images.size()));
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  if (!args.out_dir.empty()) {  // annotated copies are drawn on the original image, on the workers
    job.after_detect = [&](const JobItem& item, Image& original) {
      const std::string& out = out_paths[item.index];
      if (out.empty()) return;
      draw_detections(original, item.detections, classes);
      save_image(original, out, fs::path(out).extension().string() == ".png" ? ImageFormat::Png : ImageFormat::Jpeg);
    };
  }
  const JobSummary done = run_detection_job(
      detector, image_files(images, args.max_image_pixels), job, [&](JobItem&& item) {
        progress.clear();
        if (!args.jsonl.empty()) jsonl_line(item);
        if (!item.error.empty()) {
          std::cerr << "dusk: error: " << item.error << "\n";
        } else {
          if (args.jsonl != "-") print_detections(images[item.index], item.detections, item.ms);
          json.push_back(nlohmann::ordered_json::parse(image_record_json(item, static_cast<int>(item.index) + 1, false)));
        }
        if (images.size() > 1 && item.index + 1 < images.size()) {
          progress.restore();
          progress.update(static_cast<std::int64_t>(item.index) + 1);
        }
      });
  if (!args.json.empty()) {
    const std::string text = json.dump(1) + "\n";
    write_file_atomic(args.json, text.data(), text.size());
  }
  if (!args.jsonl.empty() && args.jsonl != "-") write_file_atomic(args.jsonl, jsonl_text.data(), jsonl_text.size());
  progress.clear();
  const std::size_t succeeded = done.items - done.failed;
  std::string summary = cat("dusk: ", count_of(static_cast<std::int64_t>(images.size()), "image", "images"));
  if (succeeded == 0) {
    summary += images.size() == 1 ? ", which failed" : ", all failed";
  } else {
    char rates[96];
    std::snprintf(rates, sizeof rates, "%.1f ms per image, %.1f images/s", done.detect_ms / static_cast<double>(succeeded),
                  static_cast<double>(images.size()) / std::max(done.seconds, 1e-9));
    summary += cat(", ", count_of(static_cast<std::int64_t>(done.detections), "detection", "detections"), ", ",
                   done.failed, " failed, ", rates);
  }
  std::cerr << summary << "\n";
  return done.failed > 0 ? 1 : 0;
}

}  // namespace

void add_tracking_flags(CLI::App& command, DetectArgs& args, const std::string& scope) {
  command.add_flag("--track", args.track,
                   scope + ": follow objects across frames (ByteTrack) and report each with a track_id; detections "
                           "down to --track-low feed the tracker");
  command.add_option("--track-high", args.track_high,
                     scope + ": detections above this are matched first; new tracks need this + 0.1")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 0.99f));
  command.add_option("--track-low", args.track_low, scope + ": weaker detections down to this rescue tracked objects")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 0.99f));
  command.add_option("--track-match", args.track_match, scope + ": largest 1 - IoU x score accepted in the first matching")
      ->capture_default_str()
      ->check(CLI::Range(0.01f, 1.0f));
  command.add_option("--track-buffer", args.track_buffer,
                     scope + ": frames (at 30 frames/s; scaled to the source's rate) a lost track is kept")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  command.add_option("--count-line", args.count_lines,
                     scope + ", with --track: NAME=x1,y1,x2,y2 counts tracks whose bottom centre crosses the segment, "
                             "in (left to right of x1,y1 -> x2,y2) and out, per class; pixels or percentages (50%)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);  // every occurrence, not only the last
  command.add_option("--zone", args.zones,
                     scope + ", with --track: NAME=x1,y1,x2,y2,x3,y3[,...] a polygon; reports the tracks inside each "
                             "frame and how long each stays; pixels or percentages (50%)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void note_given_flags(const CLI::App& command, DetectArgs& args) {
  args.threshold_given = command.count("--thresh") > 0;
  std::size_t tracking = 0;
  for (const char* flag : {"--track-high", "--track-low", "--track-match", "--track-buffer", "--count-line", "--zone"}) {
    tracking += command.count(flag);
  }
  args.tracking_option_given = tracking > 0;
}

void add_detect_command(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<DetectArgs>();
  CLI::App* command = app.add_subcommand("detect", "Detect objects in images, as Darknet's detector test does");
  command->add_option("cfg", args->cfg, "Darknet .cfg file")->required();
  command->add_option("weights", args->weights, "Darknet .weights file, or - for seeded random weights")->required();
  command->add_option("inputs", args->inputs,
                      "image files and directories of images, or one video source: a video file, an image sequence "
                      "(frames/%05d.png), a camera (/dev/video0 or 0) or a URL (rtsp://, http://)")
      ->required();
  command->add_option("--names", args->names, "class names, one per line (default: a .names file beside the cfg or weights, or the names= of a .data file there, when it has one name per class; else class ids)");
  command->add_option("--thresh", args->threshold, "threshold on objectness x class probability")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 1.0f));
  command->add_option("--nms", args->nms, "NMS overlap threshold; 0 disables NMS")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 1.0f));
  command->add_option("--nms-kind", args->nms_kind,
                      "default (Darknet's do_nms_sort, IoU), greedynms, diounms, cornersnms, or cfg (the cfg's nms_kind)")
      ->capture_default_str();
  command->add_flag("--letterbox", args->letterbox, "keep the aspect ratio, padding with grey (Darknet's -letter_box)");
  command->add_option("--resize", args->resize,
                      "how images are scaled to the network: darknet (detector test's resize_image), linear (OpenCV "
                      "INTER_LINEAR, as detector demo does) or nearest")
      ->capture_default_str();
  command->add_option("--tiles", args->tiles,
                      "detect by tiles: CxR (e.g. 3x2) or auto (tiles of the network's size), merged across seams")
      ;
  command->add_option("--tile-overlap", args->tile_overlap, "share of a tile overlapping its neighbour, 0 to 0.5")
      ->capture_default_str();
  command->add_option("--out-video", args->out_video,
                      "video: write an annotated video (.mp4/.m4v/.mov: mp4v, .avi: MJPG, .mkv: XVID), playable even "
                      "after Ctrl-C");
  command->add_option("--every", args->every, "video: process every Nth frame")->capture_default_str();
  command->add_option("--start", args->start, "video: first frame, as an index (120) or a time (12.5s, 1:05)");
  command->add_option("--end", args->end, "video: stop before this frame index or time");
  command->add_option("--max-frames", args->max_frames, "video: stop after processing this many frames");
  command->add_flag("--drop-frames", args->drop_frames,
                    "video: keep only the newest frame when detection falls behind (default for cameras and URLs)");
  command->add_flag("--no-drop-frames", args->no_drop_frames, "video: process every frame even of a live source");
  command->add_option("--reconnect", args->reconnect, "video: reopen a lost live source this many times, with backoff")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--json", args->json, "write Darknet's -out JSON for all images (or frames) to this file");
  command->add_option("--out-dir", args->out_dir, "write annotated copies of the images here");
  command->add_option("--jsonl", args->jsonl,
                      "one JSON line per image or frame as it finishes (Darknet's -out objects, or an error) to FILE, or - for stdout");
  command->add_option("--shard", args->shard,
                      "I/N: only shard I (0-based) of N of the sorted inputs, for job-scheduler arrays");
  command->add_option("--threads", args->threads, "threads to use (default: all cores)")->check(CLI::NonNegativeNumber);
  command->add_option("--batch", args->batch,
                      "images (or video frames) per network pass, run side by side on shares of the threads; "
                      "directories already keep --threads images in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  command->add_option("--size", args->size, "network input size WxH instead of the cfg's");
  command->add_option("--backend", args->backend, "auto, fast (oneDNN) or ref (reference kernels)")->capture_default_str();
  add_precision_flags(*command, args->precision);
  command->add_option("--max-image-pixels", args->max_image_pixels, "refuse images with more pixels than this")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--max-memory", args->max_memory_mb, "refuse networks whose layer outputs need more MiB")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  add_tracking_flags(*command, *args, "video");
  command->callback([args, command, &action] {
    note_given_flags(*command, *args);
    action = [args] { return run_detect(*args); };
  });
}

}  // namespace dusk::cli
