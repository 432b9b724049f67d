// Video in dusk: the frame loop against dusk detect on the same frames as
// images, damaged and variable-rate files, frame selection, live sources
// (bounded latency, counted drops), memory over a long run, interrupts,
// tiles, OpenCV's resize methods, and bad inputs.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <random>
#include <regex>
#include <thread>

#include "dusk/dusk.hpp"
#include "dusk/video.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

namespace fs = std::filesystem;
using namespace dusk;
using dusk::test::TempDir;
using nlohmann::json;

extern char** environ;

namespace {

const std::string kModel = test::shared("models/yolo-fastest-1.1");
const std::string kCfg = kModel + ".cfg";
const std::string kWeights = kModel + ".weights";
const std::string kNames = test::shared("models/coco.names");
const std::string kVideos = "/usr/share/doc/opencv-doc/examples/data";
const std::string kVtest = kVideos + "/vtest.avi";
constexpr int kVtestFrames = 795;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::string detect_command(const std::string& args) {
  return test::kDuskBinary + " detect " + kCfg + " " + kWeights + " --names " + kNames + " " + args;
}

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

struct VideoFacts {
  int frames = 0;
  int width = 0;
  int height = 0;
};

VideoFacts read_back(const std::string& path) {
  cv::VideoCapture capture(path, cv::CAP_FFMPEG);
  VideoFacts facts;
  cv::Mat frame;
  while (capture.read(frame)) {
    ++facts.frames;
    facts.width = frame.cols;
    facts.height = frame.rows;
  }
  return facts;
}

Detector yolo_fastest(int threads = 1) {
  DetectorOptions options;
  options.network.threads = threads;
  options.labels = load_labels(kNames);
  return Detector(kCfg, kWeights, options);
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  return names;
}

}  // namespace

TEST_CASE("vtest.avi: every frame of the video path equals dusk detect on the same frames saved as PNG") {
  TempDir dir;
  const auto video = test::run_command(detect_command(kVtest + " --jsonl " + dir.file("video.jsonl") + " --out-video " +
                                                      dir.file("annotated.mp4") + " > /dev/null"));
  INFO(video.err);
  REQUIRE(video.exit_code == 0);
  CHECK(video.err.find("795 frames processed (795 read, 0 dropped, 0 failed, 0 missing)") != std::string::npos);

  // The oracle: OpenCV decodes the same file; every frame goes to a lossless PNG.
  fs::create_directory(dir.file("frames"));
  cv::VideoCapture capture(kVtest, cv::CAP_FFMPEG);
  cv::Mat frame;
  int decoded = 0;
  char name[64];
  while (capture.read(frame)) {
    std::snprintf(name, sizeof name, "frames/f_%05d.png", decoded++);
    REQUIRE(cv::imwrite(dir.file(name), frame, {cv::IMWRITE_PNG_COMPRESSION, 1}));
  }
  REQUIRE(decoded == kVtestFrames);
  const auto images = test::run_command(detect_command(dir.file("frames") + " --jsonl " + dir.file("images.jsonl") + " > /dev/null"));
  REQUIRE(images.exit_code == 0);

  const std::vector<json> from_video = read_jsonl(dir.file("video.jsonl"));
  const std::vector<json> from_images = read_jsonl(dir.file("images.jsonl"));
  REQUIRE(from_video.size() == kVtestFrames);
  REQUIRE(from_images.size() == kVtestFrames);
  std::size_t objects = 0;
  for (int i = 0; i < kVtestFrames; ++i) {
    const json& v = from_video[static_cast<std::size_t>(i)];
    const json& p = from_images[static_cast<std::size_t>(i)];
    CAPTURE(i);
    CHECK(v["frame_id"] == i);
    CHECK(v["timestamp_ms"].get<double>() == doctest::Approx(i * 100.0));  // vtest runs at 10 fps
    CHECK(v["objects"] == p["objects"]);
    objects += v["objects"].size();
  }
  CHECK(objects > 5000);  // people walk through every frame

  const VideoFacts annotated = read_back(dir.file("annotated.mp4"));
  CHECK(annotated.frames == kVtestFrames);
  CHECK(annotated.width == 768);
  CHECK(annotated.height == 576);

  // The same frames as an image sequence.
  const auto sequence = test::run_command(detect_command(dir.file("frames/f_%05d.png") + " --max-frames 40 --jsonl " +
                                                         dir.file("sequence.jsonl") + " > /dev/null"));
  REQUIRE(sequence.exit_code == 0);
  const std::vector<json> from_sequence = read_jsonl(dir.file("sequence.jsonl"));
  REQUIRE(from_sequence.size() == 40);
  for (std::size_t i = 0; i < from_sequence.size(); ++i) CHECK(from_sequence[i]["objects"] == from_video[i]["objects"]);
}

TEST_CASE("a video cut short is detected as far as it decodes, the shortfall reported, its outputs whole") {
  TempDir dir;
  std::vector<char> bytes = test::read_bytes(kVtest);
  bytes.resize(5'000'000);
  const std::string cut = dir.write_bytes("cut.avi", bytes);
  fs::create_directory(dir.file("out"));
  const auto run = test::run_command(detect_command(cut + " --jsonl " + dir.file("out/cut.jsonl") + " --out-video " +
                                                    dir.file("out/cut.avi") + " > /dev/null"));
  INFO(run.err);
  CHECK(run.exit_code == 1);
  const std::vector<json> lines = read_jsonl(dir.file("out/cut.jsonl"));
  CHECK(lines.size() > 400);
  CHECK(lines.size() < 600);
  const std::string expected = "frames " + std::to_string(lines.size()) + "-794 (" + std::to_string(795 - lines.size()) +
                               " of the 795 its header promises) did not decode";
  CHECK(run.err.find(expected) != std::string::npos);
  CHECK(read_back(dir.file("out/cut.avi")).frames == static_cast<int>(lines.size()));
  CHECK(files_in(dir.file("out")).size() == 2);  // no partial files left

  // tree.avi's header says 444 frames at 15 fps but its frames are sparser:
  // 68 decode and their timestamps reach the end, so nothing is missing.
  const auto tree = test::run_command(detect_command(kVideos + "/tree.avi --jsonl " + dir.file("tree.jsonl") + " > /dev/null"));
  INFO(tree.err);
  CHECK(tree.exit_code == 0);
  CHECK(read_jsonl(dir.file("tree.jsonl")).size() == 68);
}

TEST_CASE("frame selection: --every, --start and --end by index or time, --max-frames") {
  TempDir dir;
  const auto ids = [&](const std::string& options) {
    const auto run = test::run_command(detect_command(kVtest + " " + options + " --jsonl " + dir.file("s.jsonl") + " > /dev/null"));
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    std::vector<int> frame_ids;
    for (const json& line : read_jsonl(dir.file("s.jsonl"))) frame_ids.push_back(line["frame_id"].get<int>());
    return frame_ids;
  };
  CHECK(ids("--start 100 --end 200 --every 10") == std::vector<int>{100, 110, 120, 130, 140, 150, 160, 170, 180, 190});
  CHECK(ids("--start 10s --max-frames 3") == std::vector<int>{100, 101, 102});
  CHECK(ids("--start 0:12 --end 125") == std::vector<int>{120, 121, 122, 123, 124});
  CHECK(ids("--start 790") == std::vector<int>{790, 791, 792, 793, 794});
}

TEST_CASE("a URL is a live source: frames are dropped rather than queued") {
  // FFmpeg's file:// protocol stands in for a camera: it delivers frames far
  // faster than the network takes them.
  TempDir dir;
  const auto run = test::run_command(detect_command("file://" + kVtest + " --jsonl " + dir.file("live.jsonl") + " > /dev/null"));
  INFO(run.err);
  CHECK(run.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(run.err, m, std::regex(R"((\d+) frames processed \((\d+) read, (\d+) dropped, 0 failed)")));
  const int processed = std::stoi(m[1].str());
  const int dropped = std::stoi(m[3].str());
  CHECK(std::stoi(m[2].str()) == kVtestFrames);
  CHECK(dropped > 0);
  CHECK(processed + dropped == kVtestFrames);
  const std::vector<json> lines = read_jsonl(dir.file("live.jsonl"));
  CHECK(static_cast<int>(lines.size()) == processed);
  for (std::size_t i = 1; i < lines.size(); ++i) CHECK(lines[i]["frame_id"] > lines[i - 1]["frame_id"]);
}

TEST_CASE("bad video inputs and outputs: one clear line, exit 1 or 2, nothing written") {
  TempDir dir;
  fs::create_directory(dir.file("out"));
  const std::string junk = dir.write("junk.avi", "this is not a video\n");
  struct Case {
    std::string args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {dir.file("missing.mp4"), 1, "cannot open video " + dir.file("missing.mp4") + ": no such file"},
      {junk, 1, "cannot open video " + junk + ": OpenCV's FFmpeg backend could not read it"},
      {kVtest + " --out-video " + dir.file("out/a.xyz"), 1, "no video codec for"},
      {kVtest + " --out-video " + dir.file("out"), 1, "is a directory"},
      {kVtest + " --out-video " + dir.file("nowhere/a.mp4"), 1, "does not exist"},
      {kVtest + " --out-video " + kVtest, 2, "dusk never overwrites its inputs"},
      {kVtest + " " + kVtest, 2, "give one video source per run"},
      {test::darknet_data("dog.jpg") + " --out-video " + dir.file("out/a.mp4"), 2, "apply to video sources"},
      {kVtest + " --start soon", 2, "is neither a frame index"},
      {kVtest + " --tiles 3by2", 2, "is not CxR or auto"},
      {kVtest + " --tiles 2x2 --tile-overlap 0.9", 2, "out of range"},
      {kVtest + " --resize cubic", 2, "use darknet, linear or nearest"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    const auto run = test::run_command(detect_command(c.args + " --jsonl " + dir.file("out/x.jsonl")));
    CHECK(run.exit_code == c.exit_code);
    CHECK(run.err.find(c.message) != std::string::npos);
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
    CHECK(files_in(dir.file("out")).empty());
  }
}

namespace {

// A camera simulated: a frame every `interval`, whether or not anyone takes
// it. A frame's capture time is when the camera made it, so a frame that
// waits in a queue shows its age.
class SimulatedCamera : public FrameSource {
 public:
  SimulatedCamera(int frames, std::chrono::milliseconds interval, bool live) : frames_(frames), interval_(interval), live_(live) {
    image_ = cv::Mat(240, 320, CV_8UC3);
    cv::randu(image_, 0, 255);
  }
  bool read(Frame& frame) override {
    if (next_ >= frames_) return false;
    const auto due = start_ + interval_ * next_;
    std::this_thread::sleep_until(due);
    frame.index = next_++;
    frame.timestamp_ms = static_cast<double>(frame.index * interval_.count());
    frame.bgr = image_;
    frame.captured = due;
    return true;
  }
  bool live() const override { return live_; }
  std::string name() const override { return "simulated camera"; }

 private:
  int frames_;
  std::chrono::milliseconds interval_;
  bool live_;
  cv::Mat image_;
  int next_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

struct LatencyRun {
  VideoSummary summary;
  std::vector<double> latency_ms;  // per processed frame, in order
};

LatencyRun measure(const Detector& detector, bool live) {
  SimulatedCamera camera(300, std::chrono::milliseconds(2), live);
  LatencyRun run;
  run.summary = run_video(camera, detector, VideoOptions{}, [&](FrameResult& r) {
    run.latency_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r.frame.captured).count());
  });
  return run;
}

}  // namespace

TEST_CASE("live sources: only the newest frame waits, so latency stays bounded and drops are counted") {
  const Detector detector = yolo_fastest();
  // A camera at 500 frames/s outruns the network (several ms a frame).
  const LatencyRun live = measure(detector, true);
  const LatencyRun queued = measure(detector, false);
  INFO("live: ", live.summary.processed, " processed, ", live.summary.dropped, " dropped; last latency ",
       live.latency_ms.back(), " ms; queued: last latency ", queued.latency_ms.back(), " ms");
  CHECK(live.summary.read == 300);
  CHECK(live.summary.dropped > 0);
  CHECK(live.summary.processed + live.summary.dropped == 300);
  CHECK(queued.summary.dropped == 0);
  CHECK(queued.summary.processed == 300);
  // Queued frames age without bound (the camera keeps going); dropped ones
  // cannot: the last live frame is as fresh as the early ones.
  const double early = *std::max_element(live.latency_ms.begin(), live.latency_ms.begin() + std::min<std::ptrdiff_t>(10, static_cast<std::ptrdiff_t>(live.latency_ms.size())));
  const double late = *std::max_element(live.latency_ms.end() - std::min<std::ptrdiff_t>(10, static_cast<std::ptrdiff_t>(live.latency_ms.size())), live.latency_ms.end());
  // Under ThreadSanitizer, beside test_concurrency on the other core, about
  // a dozen frames get through and scheduling stalls of a few hundred ms
  // come and go (late 211 and 393 ms against early 60 in two CI runs, the
  // queued run aging to 38-43 s): there the bound only has to tell bounded
  // from growing.
  CHECK(late < (kSanitized ? 10 * early + 500 : 3 * early + 20));
  CHECK(queued.latency_ms.back() > 5 * late);
}

namespace {

std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0;
  std::int64_t resident = 0;
  statm >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

}  // namespace

namespace {

// vtest.avi played `loops` times over as one long stream.
class LoopedVideo : public FrameSource {
 public:
  explicit LoopedVideo(int loops) : loops_(loops), file_(open_frame_source(kVtest)) {}
  bool read(Frame& frame) override {
    while (!file_->read(frame)) {
      if (++played_ >= loops_) return false;
      file_ = open_frame_source(kVtest);
    }
    frame.index = next_++;
    return true;
  }
  bool live() const override { return false; }
  std::string name() const override { return "looped vtest.avi"; }

 private:
  int loops_;
  int played_ = 0;
  std::int64_t next_ = 0;
  std::unique_ptr<FrameSource> file_;
};

}  // namespace

namespace {

// A stream that plays `burst` frames, fails, comes back once when reopened,
// fails again and then stays away.
class FlakyStream : public FrameSource {
 public:
  explicit FlakyStream(int burst) : burst_(burst), image_(64, 64, CV_8UC3, cv::Scalar(90, 120, 150)) {}
  bool read(Frame& frame) override {
    if (left_ == 0) return false;
    --left_;
    frame.index = next_++;
    frame.bgr = image_;
    frame.captured = std::chrono::steady_clock::now();
    return true;
  }
  bool reopen() override {
    ++reopens_;
    if (reopens_ == 1) left_ = burst_;
    return reopens_ == 1;
  }
  bool live() const override { return true; }
  std::string name() const override { return "flaky stream"; }

 private:
  int burst_;
  int left_ = burst_;
  int reopens_ = 0;
  std::int64_t next_ = 0;
  cv::Mat image_;
};

}  // namespace

TEST_CASE("a lost live source is reopened with backoff, then given up with what was done kept") {
  const Detector detector = yolo_fastest();
  FlakyStream stream(10);
  VideoOptions options;
  options.reconnect = 2;
  options.drop_frames = false;
  std::int64_t results = 0;
  const VideoSummary summary = run_video(stream, detector, options, [&](FrameResult&) { ++results; });
  // Back after the first reopen (attempts start again), then two failed ones.
  CHECK(summary.reconnects == 3);
  CHECK(summary.read == 20);
  CHECK(results == 20);
  CHECK(summary.source_error == "flaky stream was lost and did not come back after 2 reconnects");
  CHECK_FALSE(summary.ok());
}

TEST_CASE("a long run keeps its memory flat") {
  if (kSanitized) {
    MESSAGE("skipped in sanitizer builds: their allocators hold freed memory on purpose; the plain build runs it");
    return;
  }
  const Detector detector = yolo_fastest(2);
  // 3975 frames of decode, detect and annotate. Warm-up is the first two
  // plays: reopening the file (a new decoder) settles the allocator's heap
  // a few MB higher (measured: +5 MB, +1.3 MB, then flat).
  LoopedVideo video(5);
  const std::int64_t warm_up = 2 * kVtestFrames;
  std::int64_t frames = 0;
  std::int64_t settled = 0;
  std::int64_t peak_after = 0;
  run_video(video, detector, VideoOptions{}, [&](FrameResult& r) {
    annotate_frame(r.frame.bgr, r.detections, 80);
    if (++frames == warm_up) settled = resident_bytes();
    if (frames > warm_up) peak_after = std::max(peak_after, resident_bytes());
  });
  INFO("resident after warm-up: ", settled >> 20, " MiB; most after: ", peak_after >> 20, " MiB, over ", frames, " frames");
  CHECK(frames == 5 * kVtestFrames);
  CHECK(peak_after - settled < (std::int64_t{4} << 20));
}

TEST_CASE("Ctrl-C halfway through an .mp4 leaves a file OpenCV reads back, holding every frame reported") {
  TempDir dir;
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, dir.file("stderr.txt").c_str(), O_WRONLY | O_CREAT, 0644);
  const std::string out = dir.file("interrupted.mp4");
  std::vector<std::string> args = {test::kDuskBinary, "detect", kCfg, kWeights, kVtest, "--threads", "1",
                                   "--jsonl", "-", "--out-video", out};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);

  std::string text;
  std::size_t lines = 0;
  bool signalled = false;
  char buffer[65536];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
    lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    if (!signalled && lines >= 100) {
      ::kill(pid, SIGINT);
      signalled = true;
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(signalled);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(lines < kVtestFrames);
  const VideoFacts facts = read_back(out);
  CHECK(facts.frames == static_cast<int>(lines));
  CHECK(facts.width == 768);
  CHECK(files_in(dir.path()).size() == 2);  // the video and stderr.txt: no partial file
}

TEST_CASE("tiles find what a plain resize shrinks away, and an object across a seam is reported once") {
  const Detector detector = yolo_fastest(2);
  const cv::Mat dog = cv::imread(test::darknet_data("dog.jpg"));
  const auto from_mat = [](const cv::Mat& m) {
    return image_from_pixels(m.data, m.cols, m.rows, static_cast<int>(m.step[0]), PixelFormat::BGR);
  };
  const auto count = [](const std::vector<Detection>& ds, const std::string& label) {
    return std::count_if(ds.begin(), ds.end(), [&](const Detection& d) { return d.label == label; });
  };
  // 4 x 4 copies of dog.jpg: resized whole to 320x320, each dog is 60 pixels of mush.
  cv::Mat mosaic;
  cv::repeat(dog, 4, 4, mosaic);
  const Image big = from_mat(mosaic);
  const std::vector<Detection> plain = detector.detect(big);
  const std::vector<Detection> tiled = detect_tiled(detector, big, TileOptions{4, 4, false, 0.1f});
  CHECK(count(plain, "dog") == 0);
  CHECK(count(tiled, "dog") == 16);

  // The dog straddles the seam between two tiles (x = 768 of 1536).
  cv::Mat canvas(dog.rows, 2 * dog.cols, CV_8UC3, cv::Scalar(127, 127, 127));
  dog.copyTo(canvas(cv::Rect(500, 0, dog.cols, dog.rows)));
  const Image wide = from_mat(canvas);
  const std::vector<Detection> seam = detect_tiled(detector, wide, TileOptions{2, 1, false, 0.3f});
  REQUIRE(count(seam, "dog") == 1);
  const Detection& d = *std::find_if(seam.begin(), seam.end(), [](const Detection& x) { return x.label == "dog"; });
  CHECK(d.box.left < 768);
  CHECK(d.box.left + d.box.width > 768);
}

TEST_CASE("merging tiles, by hand: halves across a seam join, duplicates go, neighbours stay") {
  const auto det = [](int cls, float conf, float l, float t, float w, float h) {
    Detection d;
    d.class_id = cls;
    d.label = std::to_string(cls);
    d.confidence = conf;
    d.box = {l, t, w, h};
    return d;
  };
  const TileRect left{0, 0, 100, 100};
  const TileRect right{100, 0, 100, 100};
  // A box cut by the seam at x=100, seen half in each tile: one box, their union.
  std::vector<Detection> merged = merge_tiles({{left, {det(1, 0.6f, 60, 20, 40, 50)}}, {right, {det(1, 0.8f, 0, 25, 30, 40)}}}, 200, 100, 0.45f);
  REQUIRE(merged.size() == 1);
  CHECK(merged[0].box.left == 60);
  CHECK(merged[0].box.width == 70);
  CHECK(merged[0].box.top == 20);
  CHECK(merged[0].box.height == 50);
  CHECK(merged[0].confidence == 0.8f);
  CHECK(merged[0].relative.x == doctest::Approx(95.0 / 200));
  // Different classes, or boxes not on the seam, stay apart.
  merged = merge_tiles({{left, {det(1, 0.6f, 60, 20, 40, 50)}}, {right, {det(2, 0.8f, 0, 25, 30, 40)}}}, 200, 100, 0.45f);
  CHECK(merged.size() == 2);
  merged = merge_tiles({{left, {det(1, 0.6f, 10, 20, 40, 50)}}, {right, {det(1, 0.8f, 50, 25, 30, 40)}}}, 200, 100, 0.45f);
  CHECK(merged.size() == 2);
  // Overlapping tiles (0-120, 80-200): one object seen whole by both -> the stronger.
  const TileRect wide_left{0, 0, 120, 100};
  const TileRect wide_right{80, 0, 120, 100};
  merged = merge_tiles({{wide_left, {det(1, 0.5f, 85, 10, 20, 20)}}, {wide_right, {det(1, 0.7f, 6, 11, 20, 20)}}}, 200, 100, 0.45f);
  REQUIRE(merged.size() == 1);
  CHECK(merged[0].confidence == 0.7f);
  CHECK(merged[0].box.left == 86);
  // ...and seen whole by one (70-110), cut by the other's edge (80-110) ->
  // the whole box, even when the part scored higher.
  merged = merge_tiles({{wide_left, {det(1, 0.5f, 70, 10, 40, 30)}}, {wide_right, {det(1, 0.9f, 0, 10, 30, 30)}}}, 200, 100, 0.45f);
  REQUIRE(merged.size() == 1);
  CHECK(merged[0].box.left == 70);
  CHECK(merged[0].box.width == 40);
  CHECK(merged[0].confidence == 0.9f);
  // The layout: 2 x 1 with 10% overlap on a 200-wide image.
  const std::vector<TileRect> layout = tile_layout(200, 100, 64, 64, TileOptions{2, 1, false, 0.1f});
  REQUIRE(layout.size() == 2);
  CHECK(layout[0].left == 0);
  CHECK(layout[0].width == 110);
  CHECK(layout[1].left == 90);
  const std::vector<TileRect> automatic = tile_layout(640, 100, 320, 320, TileOptions{0, 0, true, 0.25f});
  CHECK(automatic.size() == 3);  // 320-wide tiles sharing 80 pixels: 0, 160, 320
  CHECK(automatic[1].left == 160);
  CHECK(automatic[2].left + automatic[2].width == 640);
}

TEST_CASE("--resize linear and nearest are OpenCV's INTER_LINEAR and INTER_NEAREST") {
  std::mt19937 rng(7);
  const std::vector<std::pair<cv::Size, cv::Size>> sizes = {
      {{768, 576}, {320, 320}}, {{37, 23}, {416, 416}}, {{640, 480}, {320, 240}}, {{5, 3}, {1, 1}},
      {{1, 1}, {7, 9}},         {{300, 200}, {299, 201}}, {{64, 64}, {608, 352}}};
  for (const auto& [from, to] : sizes) {
    CAPTURE(from.width);
    CAPTURE(to.width);
    cv::Mat bgr(from, CV_8UC3);
    cv::randu(bgr, 0, 255);
    const Image image = image_from_pixels(bgr.data, bgr.cols, bgr.rows, static_cast<int>(bgr.step[0]), PixelFormat::BGR);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(rgb, CV_32FC3, 1.0 / 255);
    for (const auto& [method, flag] : {std::pair{ResizeMethod::Linear, cv::INTER_LINEAR}, std::pair{ResizeMethod::Nearest, cv::INTER_NEAREST}}) {
      cv::Mat expected;
      cv::resize(rgb, expected, to, 0, 0, flag);
      const Image got = resize_image(image, to.width, to.height, method);
      double worst = 0;
      for (int y = 0; y < to.height; ++y) {
        for (int x = 0; x < to.width; ++x) {
          for (int k = 0; k < 3; ++k) worst = std::max(worst, std::abs(double{got.at(x, y, k)} - expected.at<cv::Vec3f>(y, x)[k]));
        }
      }
      CHECK(worst < (method == ResizeMethod::Nearest ? 1e-7 : 2e-6));
    }
  }
}
