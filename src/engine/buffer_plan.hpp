#pragma once
// Placing a network's temporary buffers in one arena by lifetime: buffers
// that are never live at the same step may share bytes, so the arena needs
// about the most memory live at any one step, not the sum.
#include <cstddef>
#include <vector>

namespace dusk {

struct BufferLifetime {
  std::size_t bytes = 0;
  int first_step = 0;  // the step that writes it first
  int last_step = 0;   // the step that reads it last (inclusive)
};

struct BufferPlacement {
  std::vector<std::size_t> offsets;  // per buffer, in bytes, multiples of `alignment`
  std::size_t arena_bytes = 0;
};

// Largest buffers first, each at the lowest offset clear of every buffer
// already placed whose lifetime meets its own (the greedy-by-size order,
// which lands close to the live peak on convolutional networks).
BufferPlacement place_buffers(const std::vector<BufferLifetime>& buffers, std::size_t alignment);

}  // namespace dusk
