#pragma once
// A small pool for a stream of independent inputs (images, frames): workers
// take inputs one at a time in stream order and compute them in parallel;
// the calling thread receives the results in that order.
#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

namespace dusk {

// take() gives the next input (std::optional; nullopt at the end) and is
// called by one worker at a time, so the i-th call is input i; it may block
// (a live source waiting for a frame). work(i, input) runs on `workers`
// threads and must not throw: put failures in the result. consume(i, result)
// runs on the calling thread in order, as soon as result i and all before it
// are ready. At most 2 x workers inputs are taken ahead of consume, so memory
// stays flat over any length. When consume or take throws, no more inputs
// are taken, `cancel` (if given) must make a blocked take() return, the
// workers finish and the exception propagates.
template <class Result, class Take, class Work, class Consume>
void run_in_order(int workers, Take&& take, Work&& work, Consume&& consume, const std::function<void()>& cancel = {}) {
  const std::size_t threads = static_cast<std::size_t>(std::max(workers, 1));
  const std::size_t window = 2 * threads;
  std::mutex mutex;  // guards everything below but the takes
  std::condition_variable changed;
  std::mutex take_mutex;  // one take at a time, so inputs are numbered in stream order
  std::map<std::size_t, Result> ready;
  std::size_t taken = 0;     // inputs taken so far
  std::size_t consumed = 0;  // results handed to consume so far
  bool ended = false;        // take() gave nullopt or threw
  bool stopping = false;     // consume threw: take nothing more
  std::exception_ptr take_failure;

  const auto worker = [&] {
    while (true) {
      std::size_t index = 0;
      std::optional<decltype(take())> input;
      {
        std::unique_lock take_lock(take_mutex);
        {
          std::unique_lock lock(mutex);
          changed.wait(lock, [&] { return ended || stopping || taken < consumed + window; });
          if (ended || stopping) return;
        }
        try {
          input.emplace(take());
        } catch (...) {
          const std::lock_guard lock(mutex);
          take_failure = std::current_exception();
          ended = true;
          changed.notify_all();
          return;
        }
        const std::lock_guard lock(mutex);
        if (!input->has_value()) {
          ended = true;
          changed.notify_all();
          return;
        }
        index = taken++;
      }
      Result result = work(index, std::move(**input));
      const std::lock_guard lock(mutex);
      ready.emplace(index, std::move(result));
      changed.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error&) {  // no thread to be had: go on with those there are
      if (pool.empty()) throw;
      break;
    }
  }
  const auto finish = [&] {
    for (std::thread& thread : pool) thread.join();
  };
  try {
    for (std::size_t i = 0;; ++i) {
      std::optional<Result> next;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return ready.count(i) != 0 || (ended && i >= taken); });
        if (ready.count(i) == 0) break;
        next.emplace(std::move(ready.at(i)));
        ready.erase(i);
        consumed = i + 1;
      }
      changed.notify_all();
      consume(i, std::move(*next));
    }
  } catch (...) {
    {
      const std::lock_guard lock(mutex);
      stopping = true;
      changed.notify_all();
    }
    if (cancel) cancel();
    finish();
    throw;
  }
  finish();
  if (take_failure) std::rethrow_exception(take_failure);
}

}  // namespace dusk
