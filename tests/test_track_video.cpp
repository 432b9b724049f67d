// Tracking on real video through the CLI: `dusk detect --track` equals the
// library's Tracker fed with the frame loop's detections, counting events
// add up to the totals, bad tracking options are refused before any frame
// is read; and frame timestamps are presentation times.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "dusk/dusk.hpp"
#include "dusk/video.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

namespace fs = std::filesystem;
using namespace dusk;
using dusk::test::TempDir;
using nlohmann::json;

namespace {

const std::string kModel = test::shared("models/yolo-fastest-1.1");
const std::string kCfg = kModel + ".cfg";
const std::string kWeights = kModel + ".weights";
const std::string kNames = test::shared("models/coco.names");
const std::string kVideos = "/usr/share/doc/opencv-doc/examples/data";
const std::string kVtest = kVideos + "/vtest.avi";

std::string detect_command(const std::string& args) {
  return test::kDuskBinary + " detect " + kCfg + " " + kWeights + " --names " + kNames + " " + args;
}

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

}  // namespace

TEST_CASE("dusk detect --track equals the library Tracker on the frame loop's detections; events add up to the totals") {
  TempDir dir;
  const int frames = 150;
  const std::string jsonl = dir.file("tracks.jsonl");
  const std::string json_path = dir.file("tracks.json");
  const auto run = test::run_command(detect_command(
      kVtest + " --track --max-frames " + std::to_string(frames) + " --count-line door=0,50%,100%,50% " +
      "--count-line side=50%,0,50%,100% --zone middle=30%,30%,70%,30%,70%,70%,30%,70% --zone corner=0,0,20%,0,0,20% " +
      "--jsonl " + jsonl + " --json " + json_path));
  REQUIRE(run.exit_code == 0);
  const std::vector<json> lines = read_jsonl(jsonl);
  REQUIRE(lines.size() == static_cast<std::size_t>(frames));

  // The same frames through the library: detections at --track-low, then the Tracker.
  DetectorOptions options;
  options.threshold = 0.1f;
  options.network.threads = 1;
  options.labels = load_labels(kNames);
  const Detector detector(kCfg, kWeights, options);
  std::unique_ptr<FrameSource> source = open_frame_source(kVtest);
  TrackerOptions tracker_options;
  tracker_options.fps = source->fps();
  Tracker tracker(tracker_options);
  VideoOptions video;
  video.max_frames = frames;
  std::size_t frame = 0, objects = 0;
  std::map<std::string, int> event_counts;
  run_video(*source, detector, video, [&](FrameResult& result) {
    REQUIRE(result.error.empty());
    const std::vector<TrackedObject> tracked = tracker.update(result.detections);
    const json& line = lines.at(frame++);
    REQUIRE(line["objects"].size() == tracked.size());
    for (std::size_t i = 0; i < tracked.size(); ++i) {
      const json& o = line["objects"][i];
      CHECK(o["track_id"] == tracked[i].track_id);
      CHECK(o["class_id"] == tracked[i].detection.class_id);
      CHECK(o["name"] == tracked[i].detection.label);
      CHECK(o["confidence"].get<double>() == doctest::Approx(tracked[i].detection.confidence).epsilon(1e-6));
      CHECK(o["relative_coordinates"]["center_x"].get<double>() ==
            doctest::Approx(tracked[i].detection.relative.x).epsilon(1e-5));
    }
    objects += tracked.size();
    for (const json& e : line["events"]) {
      event_counts[e["type"].get<std::string>() + (e.contains("direction") ? e["direction"].get<std::string>() : "")]++;
    }
    CHECK(line["zones"].contains("middle"));
    CHECK(line["zones"].contains("corner"));  // every --zone given, not only the first
  });
  CHECK(frame == static_cast<std::size_t>(frames));
  CHECK(objects > 500);  // vtest has people in every frame
  const json totals = json::parse(std::ifstream(json_path))["totals"];
  REQUIRE(totals["lines"].contains("side"));
  CHECK(totals["lines"]["door"]["in"].get<int>() + totals["lines"]["side"]["in"].get<int>() == event_counts["crossin"]);
  CHECK(totals["lines"]["door"]["out"].get<int>() + totals["lines"]["side"]["out"].get<int>() == event_counts["crossout"]);
  CHECK(event_counts["crossin"] + event_counts["crossout"] > 0);
  CHECK(event_counts["enter"] >= event_counts["exit"]);
  CHECK(run.err.find(std::to_string(totals["tracks"].get<int>()) + " tracks, door: ") != std::string::npos);
}

TEST_CASE("bad tracking options: one line, exit 2, before any frame is read, nothing written") {
  TempDir dir;
  fs::create_directory(dir.file("out"));
  struct Case {
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"--track --count-line door", "--count-line: count line 'door' has no NAME="},
      {"--track --count-line door=1,2,3", "takes 4: x1,y1,x2,y2"},
      {"--track --count-line door=0,100,800,100", "point 2 (800,100) is outside the 768x576 frame"},
      {"--track --count-line door=10,10,10,10", "give it some length"},
      {"--track --zone z=0,0,100,100,200,200", "no area"},
      {"--track --zone z=0,0,100,100,100,0,0,50", "cross; list the corners in order"},
      {"--track --zone z=0,0,100,100", "at least 3 corners"},
      {"--track --count-line a=0,0,10,10 --zone a=0,0,10,0,10,10", "two count lines or zones are named a"},
      {"--count-line door=0,100,700,100", "need --track"},
      {"--track --thresh 0.3", "--thresh does not go with --track"},
      {"--track --track-low 0.6 --track-high 0.5", "--track-low must not be above --track-high"},
      {"--track --track-high 1.5", "--track-high"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    const auto run = test::run_command(detect_command(kVtest + " " + c.args + " --jsonl " + dir.file("out/x.jsonl")));
    CHECK(run.exit_code == 2);
    CHECK(run.err.find(c.message) != std::string::npos);
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
    CHECK(fs::is_empty(dir.file("out")));
  }
  const auto image = test::run_command(detect_command(test::darknet_data("dog.jpg") + " --track"));
  CHECK(image.exit_code == 2);
  CHECK(image.err.find("apply to video sources") != std::string::npos);
}

namespace {

std::vector<double> timestamps(const std::string& path) {
  std::unique_ptr<FrameSource> source = open_frame_source(path);
  std::vector<double> times;
  Frame frame;
  while (source->read(frame)) times.push_back(frame.timestamp_ms);
  return times;
}

void check_presentation_times(const std::vector<double>& times, double fps) {
  REQUIRE(times.size() > 2);
  CHECK(times.front() == 0.0);
  for (std::size_t i = 1; i < times.size(); ++i) {
    CAPTURE(i);
    CHECK(times[i] > times[i - 1]);
  }
  const double frame_ms = 1000.0 / fps;
  const double duration = static_cast<double>(times.size()) * frame_ms;
  CHECK(times.back() <= duration);
  CHECK(times.back() >= duration - 2 * frame_ms);  // the last frame starts within one frame of its due time
}

}  // namespace

TEST_CASE("timestamps are presentation times: from 0, increasing, the last within a frame of the duration") {
  SUBCASE("Megamind.avi (its container's readings are a frame late, the last one 0)") {
    check_presentation_times(timestamps(kVideos + "/Megamind.avi"), 23.976);
  }
  SUBCASE("vtest.avi") { check_presentation_times(timestamps(kVtest), 10.0); }
  SUBCASE("a file written here at 12.5 frames/s") {
    TempDir dir;
    const std::string path = dir.file("made.avi");
    {
      cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 12.5, cv::Size(64, 48));
      REQUIRE(writer.isOpened());
      for (int i = 0; i < 40; ++i) writer.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar(i * 5, 0, 0)));
    }
    const std::vector<double> times = timestamps(path);
    CHECK(times.size() == 40);
    check_presentation_times(times, 12.5);
    CHECK(times[10] == doctest::Approx(800.0));
  }
}
