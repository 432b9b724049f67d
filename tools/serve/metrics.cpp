#include "metrics.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "dusk/text.hpp"

namespace dusk::serve {

void Histogram::observe(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++counts_[i];
  }
  ++total_;
  sum_ += seconds;
}

std::string Histogram::text(const std::string& name, const std::string& help) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out = cat("# HELP ", name, " ", help, "\n# TYPE ", name, " histogram\n");
  for (std::size_t i = 0; i < kBounds.size(); ++i) out += cat(name, "_bucket{le=\"", kBounds[i], "\"} ", counts_[i], "\n");
  out += cat(name, "_bucket{le=\"+Inf\"} ", total_, "\n", name, "_sum ", sum_, "\n", name, "_count ", total_, "\n");
  return out;
}

void Metrics::request(const std::string& path, int status, double seconds) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{path, status}];
  }
  latency_.observe(seconds);
}

std::string Metrics::text(const std::string& stream_lines) const {
  std::string out = "# HELP dusk_http_requests_total HTTP requests by route and status.\n"
                    "# TYPE dusk_http_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [key, count] : requests_) {
      out += cat("dusk_http_requests_total{path=\"", key.first, "\",status=\"", key.second, "\"} ", count, "\n");
    }
  }
  out += latency_.text("dusk_http_request_duration_seconds", "Time from a request's arrival to its response.");
  out += inference.text("dusk_inference_duration_seconds", "Time to decode and detect one posted image.");
  out += cat("# HELP dusk_queue_depth Posted images waiting for a detection worker.\n# TYPE dusk_queue_depth gauge\n",
             "dusk_queue_depth ", queue_depth.load(), "\n");
  out += cat("# HELP dusk_open_connections Open client connections.\n# TYPE dusk_open_connections gauge\n",
             "dusk_open_connections ", connections.load(), "\n");
  out += cat("# HELP process_resident_memory_bytes Resident memory.\n# TYPE process_resident_memory_bytes gauge\n",
             "process_resident_memory_bytes ", resident_bytes(), "\n");
  return out + stream_lines;
}

std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

}  // namespace dusk::serve
