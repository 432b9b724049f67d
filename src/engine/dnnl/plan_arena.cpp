// Where each value and scratchpad of a plan lives in the call's arena,
// placed by lifetime with place_buffers (engine/buffer_plan.hpp).
#include <algorithm>

#include "engine/buffer_plan.hpp"
#include "engine/dnnl/plan_builder.hpp"

namespace dusk::fast {

void place_in_arena(FastPlan::Impl& plan) {
  std::vector<Value>& values = plan.values;
  const int end = static_cast<int>(plan.steps.size());
  std::vector<int> first_write(values.size(), -1);
  std::vector<int> last_use(values.size(), -1);
  for (int i = 0; i < end; ++i) {
    const fast::Step& step = *plan.steps[static_cast<std::size_t>(i)];
    for (const int v : step.reads) last_use[static_cast<std::size_t>(v)] = i;
    for (const int v : step.writes) {
      if (first_write[static_cast<std::size_t>(v)] < 0) first_write[static_cast<std::size_t>(v)] = i;
    }
  }
  for (const int v : plan.outputs) last_use[static_cast<std::size_t>(v)] = end;
  for (std::size_t v = values.size(); v-- > 0;) {  // a view keeps its owner alive
    const int owner = values[v].alias_of;
    if (owner >= 0) last_use[static_cast<std::size_t>(owner)] = std::max(last_use[static_cast<std::size_t>(owner)], last_use[v]);
  }

  std::vector<BufferLifetime> buffers;
  std::vector<int> buffer_value;  // -1: a scratchpad
  for (std::size_t v = 1; v < values.size(); ++v) {  // value 0, the input, is the caller's
    if (values[v].alias_of >= 0 || first_write[v] < 0) continue;
    buffers.push_back({values[v].desc.get_size(), first_write[v], std::max(first_write[v], last_use[v])});
    buffer_value.push_back(static_cast<int>(v));
  }
  for (std::size_t p = 0; p < plan.scratchpads.size(); ++p) {
    const int step = plan.scratchpad_steps[p];
    buffers.push_back({plan.scratchpads[p].desc.get_size(), step, step});
    buffer_value.push_back(-1 - static_cast<int>(p));
  }
  constexpr std::size_t kAlignment = 64;  // a cache line: what oneDNN's kernels assume
  const BufferPlacement placement = place_buffers(buffers, kAlignment);
  for (std::size_t b = 0; b < buffers.size(); ++b) {
    const auto offset = static_cast<std::ptrdiff_t>(placement.offsets[b]);
    const int v = buffer_value[b];
    if (v >= 0) values[static_cast<std::size_t>(v)].offset = offset;
    else plan.scratchpads[static_cast<std::size_t>(-1 - v)].offset = offset;
  }
  plan.arena_bytes = placement.arena_bytes;
}

}  // namespace dusk::fast
