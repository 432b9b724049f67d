#pragma once
// The detection workers every request and stream shares: posted images wait
// in a bounded queue (full: the caller answers 503), streams offer their
// newest frame round robin, and the workers alternate between the two so
// neither starves the other.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dusk::serve {

class WorkPool {
 public:
  using Job = std::function<void()>;
  // `stream_work` returns the next stream frame's job, or an empty Job.
  WorkPool(int workers, std::size_t queue_limit, std::function<Job()> stream_work);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False when `queue_limit` jobs already wait.
  bool submit(Job job);
  // A stream has a frame waiting.
  void wake();
  // Finishes the queued jobs, then stops the workers.
  void drain();
  std::size_t waiting() const;

 private:
  void work();

  std::size_t limit_;
  std::function<Job()> stream_work_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  bool stream_pending_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace dusk::serve
