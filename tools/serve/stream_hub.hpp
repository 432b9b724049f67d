#pragma once
// `dusk serve --stream NAME=SOURCE`: each source read on its own thread for
// the server's lifetime (files at their own frame rate, from the start
// again at their end, as a camera would deliver them; a lost live source
// reopened with backoff), only its newest frame kept while the workers are
// busy, detected (and tracked) in turn with the others, and its latest
// result published to whoever watches: an annotated JPEG and the frame's
// JSON line, as `dusk detect --jsonl` writes it.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../detect_args.hpp"
#include "dusk/video.hpp"

namespace dusk::serve {

struct StreamSpec {
  std::string name;
  std::string source;
};

// "NAME=SOURCE" (UsageError otherwise).
StreamSpec parse_stream(const std::string& text);

// One processed frame, shared read-only with every watcher.
struct Published {
  std::int64_t frame_id = 0;
  std::vector<unsigned char> jpeg;
  std::string json;  // one line, no newline
  int width = 0;
  int height = 0;
};

class Stream;

class StreamHub {
 public:
  // `args` carries the detection and tracking options (as dusk detect's).
  StreamHub(const Detector& detector, int classes, const cli::DetectArgs& args, std::vector<StreamSpec> specs);
  ~StreamHub();
  void start(std::function<void()> wake);  // `wake`: a frame is waiting
  void stop();

  // The next stream with a frame waiting (round robin), as a job; empty if none.
  std::function<void()> next_job();

  bool has(const std::string& name) const;
  std::shared_ptr<const Published> latest(const std::string& name) const;
  using Watcher = std::function<void(std::shared_ptr<const Published>)>;
  std::uint64_t watch(const std::string& name, Watcher watcher);
  void unwatch(const std::string& name, std::uint64_t id);

  nlohmann::ordered_json describe() const;  // GET /v1/streams
  std::string metrics() const;              // Prometheus lines

 private:
  std::vector<std::unique_ptr<Stream>> streams_;
  std::size_t next_ = 0;
  std::mutex turn_;
};

}  // namespace dusk::serve
