#pragma once
// A small pool for lists of independent items (images): workers compute
// items in parallel, the calling thread receives the results in list order.
#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace dusk {

// Calls work(i) for every i in [0, count) on `workers` threads, and
// consume(i, result) on the calling thread in index order as soon as result
// i and all before it are ready. At most 2 x workers results wait at once, so
// a slow consumer bounds memory. work must not throw; put failures in Result.
template <class Result, class Work, class Consume>
void run_in_order(std::size_t count, int workers, Work&& work, Consume&& consume) {
  const std::size_t threads = std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(std::max(workers, 1)), count));
  const std::size_t window = 2 * threads;
  std::vector<std::optional<Result>> slots(count);
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t next = 0;      // the next index a worker takes
  std::size_t consumed = 0;  // results handed to consume so far

  const auto worker = [&] {
    std::unique_lock lock(mutex);
    while (true) {
      changed.wait(lock, [&] { return next >= count || next < consumed + window; });
      if (next >= count) return;
      const std::size_t i = next++;
      lock.unlock();
      Result result = work(i);
      lock.lock();
      slots[i] = std::move(result);
      changed.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::size_t i = 0; i < count; ++i) {
    std::optional<Result> ready;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return slots[i].has_value(); });
      ready = std::move(slots[i]);
      slots[i].reset();
      consumed = i + 1;
    }
    changed.notify_all();
    consume(i, std::move(*ready));
  }
  for (std::thread& thread : pool) thread.join();
}

}  // namespace dusk
