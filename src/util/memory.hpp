#pragma once
// Large buffers that cost few page faults. On virtual machines a first touch
// of each 4 KiB page can cost microseconds; backing big buffers with
// transparent huge pages (one fault per 2 MiB) and asking the kernel to
// populate them up front is many times faster, and loading a 250 MB network
// is mostly that.
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

// Asks for transparent huge pages on the whole 2 MiB pages inside
// [data, data + bytes), where the kernel allows them.
void advise_huge_pages(void* data, std::size_t bytes);

// 64-byte aligned storage (2 MiB aligned when that big), populated up front
// unless asked not to; freed by the destructor.
class AlignedBuffer {
 public:
  enum class Populate { Now, OnFirstTouch };
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t bytes, Populate populate = Populate::Now);
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

// Many long-lived buffers carved out of a few big chunks backed by huge
// pages, filled as they are first written: far fewer page faults than one
// allocation each, and at most one partly used huge page at the end.
class Arena {
 public:
  explicit Arena(std::size_t chunk_bytes = std::size_t{64} << 20) : chunk_bytes_(chunk_bytes) {}
  void* allocate(std::size_t bytes);  // 64-byte aligned; lives as long as the arena

 private:
  std::size_t chunk_bytes_;
  std::vector<AlignedBuffer> chunks_;
  std::size_t used_ = 0;  // bytes handed out from the last chunk
};

}  // namespace dusk
