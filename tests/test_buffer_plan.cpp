// Placing buffers in one arena by lifetime: no two buffers live at the same
// step may overlap, and buffers that never meet share bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "engine/buffer_plan.hpp"

using namespace dusk;

namespace {

// The bytes live at the busiest step: no valid placement needs less.
std::size_t live_peak(const std::vector<BufferLifetime>& buffers) {
  std::size_t peak = 0;
  for (const BufferLifetime& at : buffers) {
    std::size_t live = 0;
    for (const BufferLifetime& b : buffers) {
      if (b.first_step <= at.first_step && at.first_step <= b.last_step) live += b.bytes;
    }
    peak = std::max(peak, live);
  }
  return peak;
}

void check_valid(const std::vector<BufferLifetime>& buffers, const BufferPlacement& placement, std::size_t alignment) {
  REQUIRE(placement.offsets.size() == buffers.size());
  for (std::size_t a = 0; a < buffers.size(); ++a) {
    CHECK(placement.offsets[a] % alignment == 0);
    CHECK(placement.offsets[a] + buffers[a].bytes <= placement.arena_bytes);
    for (std::size_t b = a + 1; b < buffers.size(); ++b) {
      const bool meet = buffers[a].first_step <= buffers[b].last_step && buffers[b].first_step <= buffers[a].last_step;
      const bool overlap = placement.offsets[a] < placement.offsets[b] + buffers[b].bytes &&
                           placement.offsets[b] < placement.offsets[a] + buffers[a].bytes;
      if (meet && buffers[a].bytes > 0 && buffers[b].bytes > 0) {
        INFO("buffers " << a << " and " << b << " live together");
        CHECK_FALSE(overlap);
      }
    }
  }
  CHECK(placement.arena_bytes >= live_peak(buffers));
}

}  // namespace

TEST_CASE("a chain of layers reuses the bytes of buffers no longer read") {
  // a -> b -> c -> d, each read only by the next step; the scratchpad s
  // lives during step 2 alone.
  const std::vector<BufferLifetime> buffers = {
      {100, 0, 1}, {200, 1, 2}, {100, 2, 3}, {50, 3, 3}, {30, 2, 2}};
  const BufferPlacement placement = place_buffers(buffers, 1);
  check_valid(buffers, placement, 1);
  CHECK(placement.arena_bytes == 330);  // the peak: b, c and s at step 2
  CHECK(placement.offsets[1] == 0);     // largest first
  CHECK(placement.offsets[0] == 200);
  CHECK(placement.offsets[2] == 200);   // where a was
}

TEST_CASE("alignment rounds every offset up") {
  const std::vector<BufferLifetime> buffers = {{10, 0, 0}, {10, 0, 0}, {10, 0, 0}};
  const BufferPlacement placement = place_buffers(buffers, 64);
  check_valid(buffers, placement, 64);
  CHECK(placement.arena_bytes == 192);
}

TEST_CASE("random lifetimes: never two live buffers in the same bytes, and close to the live peak") {
  std::mt19937 random(11);
  for (int trial = 0; trial < 200; ++trial) {
    std::uniform_int_distribution<int> count(1, 60), step(0, 40), length(0, 8);
    std::uniform_int_distribution<std::size_t> bytes(0, 5000);
    std::vector<BufferLifetime> buffers(static_cast<std::size_t>(count(random)));
    for (BufferLifetime& b : buffers) {
      b.bytes = bytes(random);
      b.first_step = step(random);
      b.last_step = b.first_step + length(random);
    }
    const std::size_t alignment = trial % 2 == 0 ? 1 : 64;
    const BufferPlacement placement = place_buffers(buffers, alignment);
    INFO("trial " << trial);
    check_valid(buffers, placement, alignment);
    std::size_t sum = 0;
    for (const BufferLifetime& b : buffers) sum += (b.bytes + alignment - 1) / alignment * alignment;
    CHECK(placement.arena_bytes <= sum);
  }
}
