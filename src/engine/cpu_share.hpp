#pragma once
// Whether a network's multi-threaded calls get the CPUs they ask for.
#include <atomic>
#include <cstdint>

namespace dusk {

// For networks on the default thread budget. The calling thread's CPU time
// is set against each call's wall time: alone it spins through the short
// waits between layers (ratio near 1); when another process holds one of the
// cores, the layer barriers wait on a descheduled thread, the waits outlast
// OpenMP's 1 ms blocktime and the thread sleeps (ratio well below 1). After
// kStarvedCalls such calls in a row, calls run on half the threads for
// kReducedNs, then try the full budget again.
class CpuShare {
 public:
  static constexpr double kStarvedRatio = 0.6;
  static constexpr int kStarvedCalls = 3;
  static constexpr std::int64_t kReducedNs = 1'000'000'000;
  static constexpr double kShortestCallMs = 0.3;  // shorter calls say nothing

  int threads_for(int budget) const;
  void record(int threads, double wall_ms, double cpu_ms);

 private:
  std::atomic<int> starved_in_a_row_{0};
  std::atomic<std::int64_t> reduced_until_ns_{0};
};

// CPU time of the calling thread, in milliseconds.
double thread_cpu_ms();
double monotonic_ms();

}  // namespace dusk
