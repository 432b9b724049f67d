#pragma once
// The cost-limited assignment on the pairs that can matter: those cheaper
// than the limit. linear_assignment() (dusk/track.hpp) is this over a dense
// matrix; the tracker hands it only the pairs of boxes that overlap.
#include <vector>

#include "dusk/track.hpp"

namespace dusk::track {

struct Pair {
  int row = 0;
  int col = 0;
  double cost = 0;
};

// Pairs at or above `limit` are ignored. At most one pair per (row, col).
Assignment assign_pairs(int rows, int cols, const std::vector<Pair>& pairs, double limit);

}  // namespace dusk::track
