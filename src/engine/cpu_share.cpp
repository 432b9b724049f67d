// Thread budget that follows the CPU share a network actually gets.
#include "engine/cpu_share.hpp"

#include <time.h>

#include <algorithm>

namespace dusk {

namespace {

std::int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

int CpuShare::threads_for(int budget) const {
  if (budget > 1 && now_ns() < reduced_until_ns_.load(std::memory_order_relaxed)) return std::max(1, budget / 2);
  return budget;
}

void CpuShare::record(int threads, double wall_ms, double cpu_ms) {
  if (threads < 2 || wall_ms < kShortestCallMs) return;
  if (cpu_ms >= kStarvedRatio * wall_ms) {
    starved_in_a_row_.store(0, std::memory_order_relaxed);
    return;
  }
  if (starved_in_a_row_.fetch_add(1, std::memory_order_relaxed) + 1 >= kStarvedCalls) {
    starved_in_a_row_.store(0, std::memory_order_relaxed);
    reduced_until_ns_.store(now_ns() + kReducedNs, std::memory_order_relaxed);
  }
}

double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

double monotonic_ms() { return static_cast<double>(now_ns()) / 1e6; }

}  // namespace dusk
