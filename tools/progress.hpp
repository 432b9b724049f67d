#pragma once
// The one progress line of every long command: "[n/N] rate unit/s, ETA t"
// on a terminal, redrawn at most four times a second; nothing at all when
// stderr is a pipe or a file.
#include <chrono>
#include <cstdint>
#include <string>

namespace dusk::cli {

class Progress {
 public:
  // `unit`: "images", "frames"; `total` < 0 when unknown (a live stream).
  Progress(std::string unit, std::int64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` items so far; redraws when the last drawing is 250 ms old.
  void update(std::int64_t done);
  void set_total(std::int64_t total);
  // Takes the line away before other output goes to the terminal...
  void clear();
  // ...and puts it back after.
  void restore();

 private:
  void draw();

  std::string unit_;
  std::int64_t total_;
  bool shown_;
  bool on_screen_ = false;
  std::string line_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point drawn_{};
};

// "1 image", "3 images".
std::string count_of(std::int64_t n, const std::string& singular, const std::string& plural);

}  // namespace dusk::cli
