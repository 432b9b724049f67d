#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "dusk/text.hpp"

namespace dusk::cli {

Progress::Progress(std::string unit, std::int64_t total)
    : unit_(std::move(unit)), total_(total), shown_(::isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() { clear(); }

void Progress::update(std::int64_t done) {
  if (!shown_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - drawn_ < std::chrono::milliseconds(250) && on_screen_) return;
  drawn_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  line_ = total_ >= 0 ? cat("[", done, "/", total_, "]") : cat("[", done, "]");
  if (seconds >= 0.2 && done > 0) {  // a rate over less is noise
    const double rate = static_cast<double>(done) / seconds;
    char rate_text[32];
    std::snprintf(rate_text, sizeof rate_text, "%.1f", rate);
    line_ += cat(" ", rate_text, " ", unit_, "/s");
    if (total_ > done) line_ += cat(", ETA ", std::lround(static_cast<double>(total_ - done) / rate), " s");
  }
  draw();
}

void Progress::set_total(std::int64_t total) { total_ = total; }

void Progress::draw() {
  std::fprintf(stderr, "\r%s\033[K", line_.c_str());
  std::fflush(stderr);
  on_screen_ = true;
}

void Progress::clear() {
  if (!shown_ || !on_screen_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  on_screen_ = false;
}

void Progress::restore() {
  if (shown_ && !on_screen_ && !line_.empty()) draw();
}

std::string count_of(std::int64_t n, const std::string& singular, const std::string& plural) {
  return cat(n, " ", n == 1 ? singular : plural);
}

}  // namespace dusk::cli
