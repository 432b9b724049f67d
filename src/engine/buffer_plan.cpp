#include "engine/buffer_plan.hpp"

#include <algorithm>
#include <numeric>

namespace dusk {
namespace {

std::size_t round_up(std::size_t bytes, std::size_t alignment) { return (bytes + alignment - 1) / alignment * alignment; }

bool live_together(const BufferLifetime& a, const BufferLifetime& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

}  // namespace

BufferPlacement place_buffers(const std::vector<BufferLifetime>& buffers, std::size_t alignment) {
  std::vector<std::size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return buffers[a].bytes > buffers[b].bytes; });

  BufferPlacement placement;
  placement.offsets.assign(buffers.size(), 0);
  std::vector<std::size_t> placed;
  std::vector<std::pair<std::size_t, std::size_t>> taken;  // [begin, end) of those live alongside
  for (const std::size_t b : order) {
    const BufferLifetime& buffer = buffers[b];
    taken.clear();
    for (const std::size_t other : placed) {
      if (live_together(buffer, buffers[other])) {
        taken.emplace_back(placement.offsets[other], placement.offsets[other] + buffers[other].bytes);
      }
    }
    std::sort(taken.begin(), taken.end());
    std::size_t offset = 0;  // the lowest aligned gap that fits
    for (const auto& [begin, end] : taken) {
      if (offset + buffer.bytes <= begin) break;
      offset = std::max(offset, round_up(end, alignment));
    }
    placement.offsets[b] = offset;
    placement.arena_bytes = std::max(placement.arena_bytes, round_up(offset + buffer.bytes, alignment));
    placed.push_back(b);
  }
  return placement;
}

}  // namespace dusk
