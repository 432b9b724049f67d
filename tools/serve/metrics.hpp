#pragma once
// What `dusk serve` counts, in Prometheus' text format (GET /metrics).
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace dusk::serve {

// Cumulative buckets of seconds, as Prometheus histograms have them.
class Histogram {
 public:
  void observe(double seconds);
  std::string text(const std::string& name, const std::string& help) const;

 private:
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   10};
  mutable std::mutex mutex_;
  std::array<std::uint64_t, kBounds.size()> counts_{};
  std::uint64_t total_ = 0;
  double sum_ = 0;
};

class Metrics {
 public:
  void request(const std::string& path, int status, double seconds);
  Histogram inference;  // seconds of detection per REST request
  std::atomic<std::int64_t> queue_depth{0};
  std::atomic<std::int64_t> connections{0};
  // Everything, with the streams' own lines appended by the caller.
  std::string text(const std::string& stream_lines) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  Histogram latency_;
};

// Resident memory of this process in bytes (/proc/self/statm).
std::int64_t resident_bytes();

}  // namespace dusk::serve
