#pragma once
// A queue between two pipeline threads with a fixed capacity. When full, a
// push either waits (files: nothing may be lost) or replaces the oldest
// entry (live sources: the newest frame matters; replaced entries are
// counted). close() wakes everyone: pops drain what is left, then fail.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace dusk {

template <typename T>
class BoundedQueue {
 public:
  BoundedQueue(std::size_t capacity, bool replace_oldest) : capacity_(capacity < 1 ? 1 : capacity), replace_oldest_(replace_oldest) {}

  // False if the queue was closed (the item is dropped).
  bool push(T item) {
    std::unique_lock lock(mutex_);
    if (replace_oldest_) {
      if (closed_) return false;
      if (items_.size() >= capacity_) {
        items_.pop_front();
        ++replaced_;
      }
    } else {
      not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
      if (closed_) return false;
    }
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // The oldest item; nullopt once the queue is closed and empty.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // No more pushes; pops return what is left, then nullopt.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  // Also throws away what is left (the consumer is gone).
  void abandon() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    items_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::int64_t replaced() const {
    std::lock_guard lock(mutex_);
    return replaced_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  std::size_t capacity_;
  bool replace_oldest_;
  bool closed_ = false;
  std::int64_t replaced_ = 0;
};

}  // namespace dusk
