#include "work_pool.hpp"

namespace dusk::serve {

WorkPool::WorkPool(int workers, std::size_t queue_limit, std::function<Job()> stream_work)
    : limit_(queue_limit), stream_work_(std::move(stream_work)) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

WorkPool::~WorkPool() { drain(); }

bool WorkPool::submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= limit_) return false;
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

void WorkPool::wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stream_pending_ = true;
  }
  ready_.notify_one();
}

std::size_t WorkPool::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void WorkPool::drain() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (threads_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void WorkPool::work() {
  bool stream_turn = false;
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty() || stream_pending_; });
      const bool take_stream = stream_pending_ && !stopping_ && (queue_.empty() || stream_turn);
      if (take_stream) {
        stream_pending_ = false;  // the stream side says again whether more is waiting
      } else if (!queue_.empty()) {
        job = std::move(queue_.front());
        queue_.pop_front();
      } else if (stopping_) {
        return;
      }
      stream_turn = !take_stream;
      if (take_stream) {
        lock.unlock();
        job = stream_work_();
        if (job) wake();  // others may be waiting too
      }
    }
    if (job) job();
  }
}

}  // namespace dusk::serve
