#include "stream_hub.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <optional>

#include "../cli_common.hpp"
#include "../track_output.hpp"
#include "dusk/text.hpp"

namespace dusk::serve {

namespace {

using Clock = std::chrono::steady_clock;

double ms3(double v) { return std::round(v * 1000) / 1000; }

}  // namespace

StreamSpec parse_stream(const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw cli::UsageError(cat("--stream '", text, "' is not NAME=SOURCE; write it like door=rtsp://camera/stream or "
                                                "demo=clip.mp4"));
  }
  const std::string name = text.substr(0, eq);
  for (const char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      throw cli::UsageError(cat("--stream name '", name, "' may hold only letters, digits, '_' and '-' (it goes in URLs)"));
    }
  }
  return {name, text.substr(eq + 1)};
}

class Stream {
 public:
  Stream(StreamSpec spec, const Detector& detector, int classes, const cli::DetectArgs& args, Clock::time_point epoch)
      : spec_(std::move(spec)), detector_(detector), classes_(classes), args_(args), epoch_(epoch) {}

  ~Stream() { stop(); }

  void start(std::function<void()> wake) {
    wake_ = std::move(wake);
    reader_ = std::thread([this] { read_loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    sleep_.notify_all();
    if (reader_.joinable()) reader_.join();
  }

  const std::string& name() const { return spec_.name; }

  // The waiting frame, if the stream is not already being worked on.
  std::optional<Frame> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (busy_ || !pending_) return std::nullopt;
    busy_ = true;
    std::optional<Frame> frame = std::move(pending_);
    pending_.reset();
    return frame;
  }

  void process(Frame frame) {
    nlohmann::ordered_json line = {{"frame_id", frame.index}, {"timestamp_ms", ms3(frame.timestamp_ms)}};
    try {
      std::vector<Detection> found = detector_.detect(frame.bgr.data, frame.bgr.cols, frame.bgr.rows,
                                                      static_cast<int>(frame.bgr.step[0]), PixelFormat::BGR);
      if (args_.track) {
        if (!tracking_) {
          // Lines and zones are placed on the first frame's size; one that
          // falls outside it is this stream's error, on every frame's line.
          auto tracking = std::make_unique<cli::TrackingRun>(args_, cli::parse_count_specs(args_), 0, classes_);
          tracking->set_frame_size(frame.bgr.cols, frame.bgr.rows);
          tracking_ = std::move(tracking);
        }
        tracking_->update(found, frame.timestamp_ms, line);
        tracking_->draw(frame.bgr);
      } else {
        line["objects"] = cli::objects_value(found);
        annotate_frame(frame.bgr, found, classes_);
      }
    } catch (const std::exception& error) {  // options it names are the server's flags
      const std::string message = error_message(error, Shell::Cli);
      line["error"] = message;
      std::lock_guard<std::mutex> lock(mutex_);
      last_error_ = message;
    }
    auto published = std::make_shared<Published>();
    published->frame_id = frame.index;
    published->json = line.dump();
    published->width = frame.bgr.cols;
    published->height = frame.bgr.rows;
    published->jpeg = encode_image(image_from_pixels(frame.bgr.data, frame.bgr.cols, frame.bgr.rows,
                                                     static_cast<int>(frame.bgr.step[0]), PixelFormat::BGR),
                                   ImageFormat::Jpeg);
    std::vector<StreamHub::Watcher> watchers;
    bool more = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      latest_ = published;
      ++processed_;
      const auto now = Clock::now();
      if (last_processed_ != Clock::time_point{}) {
        const double seconds = std::chrono::duration<double>(now - last_processed_).count();
        fps_ = fps_ == 0 ? 1.0 / std::max(seconds, 1e-6) : 0.9 * fps_ + 0.1 / std::max(seconds, 1e-6);
      }
      last_processed_ = now;
      for (const auto& [id, watcher] : watchers_) watchers.push_back(watcher);
      busy_ = false;
      more = pending_.has_value();
    }
    for (const StreamHub::Watcher& watcher : watchers) watcher(published);
    if (more) wake_();
  }

  std::shared_ptr<const Published> latest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return latest_;
  }

  std::uint64_t watch(StreamHub::Watcher watcher) {
    std::lock_guard<std::mutex> lock(mutex_);
    watchers_[++next_watcher_] = std::move(watcher);
    return next_watcher_;
  }

  void unwatch(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    watchers_.erase(id);
  }

  nlohmann::ordered_json describe() const {
    std::lock_guard<std::mutex> lock(mutex_);
    nlohmann::ordered_json out = {{"name", spec_.name},         {"source", spec_.source},
                                  {"state", state_},            {"fps", std::round(fps_ * 10) / 10},
                                  {"frames_read", read_},       {"frames_processed", processed_},
                                  {"dropped", dropped_},        {"reconnects", reconnects_},
                                  {"width", width_},            {"height", height_},
                                  {"watchers", watchers_.size()}};
    if (!last_error_.empty()) out["last_error"] = last_error_;
    return out;
  }

  // frames read, processed, dropped, reconnects, fps: the order of kFamilies.
  std::array<double, 5> counters() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {static_cast<double>(read_), static_cast<double>(processed_), static_cast<double>(dropped_),
            static_cast<double>(reconnects_), fps_};
  }

 private:
  // Sleeps until `until` or stop(); false when stopping.
  bool sleep_until(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(mutex_);
    sleep_.wait_until(lock, until, [&] { return stopping_; });
    return !stopping_;
  }

  void set_state(const std::string& state, const std::string& error = "") {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = state;
    if (!error.empty()) last_error_ = error;
  }

  void read_loop() {
    auto backoff = std::chrono::milliseconds(500);
    while (true) {
      std::unique_ptr<FrameSource> source;
      try {
        source = open_frame_source(spec_.source);
      } catch (const std::exception& error) {
        set_state("reconnecting", error.what());
        if (!sleep_until(Clock::now() + backoff)) return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(8000));
        std::lock_guard<std::mutex> lock(mutex_);
        ++reconnects_;
        continue;
      }
      set_state("running");
      const double fps = source->fps() > 0 ? source->fps() : 25.0;
      const bool paced = !source->live();  // a file is read at its own rate
      const auto start = Clock::now();
      std::int64_t frames = 0;
      Frame frame;
      while (source->read(frame)) {
        if (paced && !sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(static_cast<double>(frames) / fps)))) {
          return;
        }
        ++frames;
        frame.index = next_frame_id_++;
        frame.timestamp_ms = std::chrono::duration<double, std::milli>(Clock::now() - epoch_).count();
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (stopping_) return;
          ++read_;
          width_ = frame.bgr.cols;
          height_ = frame.bgr.rows;
          if (pending_) ++dropped_;  // the newest frame replaces one not yet taken
          pending_ = std::move(frame);
        }
        wake_();
        frame = Frame();
        backoff = std::chrono::milliseconds(500);
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
      }
      if (paced && frames > 0) continue;  // a file again from its start
      set_state("reconnecting", cat(spec_.source, ": the source stopped delivering frames"));
      if (!sleep_until(Clock::now() + backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(8000));
      std::lock_guard<std::mutex> lock(mutex_);
      ++reconnects_;
    }
  }

  StreamSpec spec_;
  const Detector& detector_;
  int classes_;
  const cli::DetectArgs& args_;
  Clock::time_point epoch_;
  std::function<void()> wake_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable sleep_;
  bool stopping_ = false;
  bool busy_ = false;
  std::optional<Frame> pending_;
  std::shared_ptr<const Published> latest_;
  std::map<std::uint64_t, StreamHub::Watcher> watchers_;
  std::uint64_t next_watcher_ = 0;
  std::unique_ptr<cli::TrackingRun> tracking_;  // used by one worker at a time (busy_)
  std::int64_t next_frame_id_ = 0;
  std::int64_t read_ = 0, processed_ = 0, dropped_ = 0, reconnects_ = 0;
  int width_ = 0, height_ = 0;
  double fps_ = 0;
  Clock::time_point last_processed_{};
  std::string state_ = "starting";
  std::string last_error_;
};

StreamHub::StreamHub(const Detector& detector, int classes, const cli::DetectArgs& args, std::vector<StreamSpec> specs) {
  const auto epoch = Clock::now();
  for (StreamSpec& spec : specs) {
    streams_.push_back(std::make_unique<Stream>(std::move(spec), detector, classes, args, epoch));
  }
}

StreamHub::~StreamHub() { stop(); }

void StreamHub::start(std::function<void()> wake) {
  for (auto& stream : streams_) stream->start(wake);
}

void StreamHub::stop() {
  for (auto& stream : streams_) stream->stop();
}

std::function<void()> StreamHub::next_job() {
  std::lock_guard<std::mutex> lock(turn_);
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    Stream* stream = streams_[(next_ + i) % streams_.size()].get();
    if (std::optional<Frame> frame = stream->take()) {
      next_ = (next_ + i + 1) % streams_.size();
      return [stream, f = std::make_shared<Frame>(std::move(*frame))] { stream->process(std::move(*f)); };
    }
  }
  return {};
}

bool StreamHub::has(const std::string& name) const {
  return std::any_of(streams_.begin(), streams_.end(), [&](const auto& s) { return s->name() == name; });
}

std::shared_ptr<const Published> StreamHub::latest(const std::string& name) const {
  for (const auto& s : streams_) {
    if (s->name() == name) return s->latest();
  }
  return nullptr;
}

std::uint64_t StreamHub::watch(const std::string& name, Watcher watcher) {
  for (const auto& s : streams_) {
    if (s->name() == name) return s->watch(std::move(watcher));
  }
  return 0;
}

void StreamHub::unwatch(const std::string& name, std::uint64_t id) {
  for (const auto& s : streams_) {
    if (s->name() == name) s->unwatch(id);
  }
}

nlohmann::ordered_json StreamHub::describe() const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& s : streams_) list.push_back(s->describe());
  return list;
}

std::string StreamHub::metrics() const {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
  };
  static constexpr Family kFamilies[] = {
      {"dusk_stream_frames_read_total", "counter", "Frames read from each stream's source."},
      {"dusk_stream_frames_processed_total", "counter", "Frames detected on."},
      {"dusk_stream_frames_dropped_total", "counter", "Frames replaced by a newer one before detection."},
      {"dusk_stream_reconnects_total", "counter", "Times a stream's source was opened again."},
      {"dusk_stream_fps", "gauge", "Frames detected per second, recently."},
  };
  std::vector<std::array<double, 5>> values;
  for (const auto& s : streams_) values.push_back(s->counters());
  std::string out;
  for (std::size_t f = 0; f < std::size(kFamilies); ++f) {
    out += cat("# HELP ", kFamilies[f].name, " ", kFamilies[f].help, "\n# TYPE ", kFamilies[f].name, " ",
               kFamilies[f].type, "\n");
    for (std::size_t i = 0; i < streams_.size(); ++i) {
      out += cat(kFamilies[f].name, "{stream=\"", streams_[i]->name(), "\"} ", values[i][f], "\n");
    }
  }
  return out;
}

}  // namespace dusk::serve
