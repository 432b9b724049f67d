#pragma once
// Large buffers that are faulted in by the kernel in one go. On virtual
// machines a first touch of each 4 KiB page can cost microseconds; asking
// the kernel to populate a big buffer up front is many times faster, and
// loading a 250 MB network is mostly that.
#include <cstddef>
#include <vector>

namespace dusk {

// Populates the whole pages inside [data, data + bytes) for writing. A no-op
// where the kernel does not support it.
void prefault(void* data, std::size_t bytes);

// v.resize(n), with the new storage populated first when it is large.
template <class T>
void resize_prefaulted(std::vector<T>& v, std::size_t n) {
  constexpr std::size_t kWorthIt = std::size_t{1} << 20;
  if (n * sizeof(T) >= kWorthIt && n > v.capacity()) {
    v.reserve(n);
    prefault(v.data(), n * sizeof(T));
  }
  v.resize(n);
}

// 64-byte aligned storage, populated up front; freed by the destructor.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t bytes);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  void* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace dusk
