#include "util/memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace dusk {

namespace {

constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;

// [begin, end) of the whole `unit`-sized pages inside [data, data + bytes).
std::pair<std::uintptr_t, std::uintptr_t> whole_pages(void* data, std::size_t bytes, std::uintptr_t unit) {
  const auto first = reinterpret_cast<std::uintptr_t>(data);
  return {(first + unit - 1) & ~(unit - 1), (first + bytes) & ~(unit - 1)};
}

}  // namespace

void advise_huge_pages(void* data, std::size_t bytes) {
  const auto [begin, end] = whole_pages(data, bytes, kHugePage);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

void prefault(void* data, std::size_t bytes) {
  // Transparent huge pages where the kernel allows them (madvise mode): one
  // fault per 2 MiB instead of 512, which is most of the cost on a VM.
  advise_huge_pages(data, bytes);
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto [begin, end] = whole_pages(data, bytes, page);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

AlignedBuffer::AlignedBuffer(std::size_t bytes, Populate populate) : size_(bytes) {
  // Big buffers start on a huge-page boundary so prefault can back them with
  // huge pages from the first byte; the size is not rounded up, so the tail
  // stays in small pages and nothing unused is populated.
  const std::size_t alignment = bytes >= kHugePage ? kHugePage : 64;
  if (::posix_memalign(&data_, alignment, bytes == 0 ? 1 : bytes) != 0) throw std::bad_alloc();
  if (populate == Populate::OnFirstTouch) {
    advise_huge_pages(data_, bytes);
  } else if (bytes >= (std::size_t{1} << 20)) {
    prefault(data_, bytes);
  }
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void* Arena::allocate(std::size_t bytes) {
  const std::size_t rounded = (bytes + 63) / 64 * 64;
  if (chunks_.empty() || used_ + rounded > chunks_.back().size()) {
    chunks_.emplace_back(std::max(chunk_bytes_, rounded), AlignedBuffer::Populate::OnFirstTouch);
    used_ = 0;
  }
  void* at = static_cast<char*>(chunks_.back().data()) + used_;
  used_ += rounded;
  return at;
}

}  // namespace dusk
