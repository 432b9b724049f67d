// Linear assignment with a cost limit. LAPJV with cost_limit solves the
// square problem extended by one dummy column per row and one dummy row per
// column, each costing limit / 2; its optimum is the matching that minimises
// the sum over matched pairs of (cost - limit). So only pairs cheaper than
// the limit can matter, and rows and columns split into independent groups
// joined by such pairs: each group is solved on its own (most are one row
// and one column), by the shortest augmenting path method with potentials,
// on costs min(cost - limit, 0), where a zero means "left unmatched".
#include "track/assignment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "dusk/error.hpp"

namespace dusk {

namespace track {

namespace {

int find_root(std::vector<int>& parent, int i) {
  while (parent[static_cast<std::size_t>(i)] != i) {
    parent[static_cast<std::size_t>(i)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(i)])];
    i = parent[static_cast<std::size_t>(i)];
  }
  return i;
}

// Minimum-cost perfect matching of an n x n matrix (row-major); returns the
// column of each row.
std::vector<int> solve_square(const std::vector<double>& cost, int n) {
  const double inf = std::numeric_limits<double>::infinity();
  const auto c = [&](int r, int col) { return cost[static_cast<std::size_t>(r * n + col)]; };
  // 1-based arrays; column 0 is the virtual start of each augmenting path.
  const std::size_t size = static_cast<std::size_t>(n + 1);
  std::vector<double> u(size, 0), v(size, 0), min_to(size);
  std::vector<int> row_of(size, 0), way(size, 0);
  std::vector<char> used(size);
  for (int row = 1; row <= n; ++row) {
    row_of[0] = row;
    int col0 = 0;
    std::fill(min_to.begin(), min_to.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[static_cast<std::size_t>(col0)] = 1;
      const int r0 = row_of[static_cast<std::size_t>(col0)];
      double delta = inf;
      int col1 = 0;
      for (int col = 1; col <= n; ++col) {
        const std::size_t j = static_cast<std::size_t>(col);
        if (used[j]) continue;
        const double reduced = c(r0 - 1, col - 1) - u[static_cast<std::size_t>(r0)] - v[j];
        if (reduced < min_to[j]) {
          min_to[j] = reduced;
          way[j] = col0;
        }
        if (min_to[j] < delta) {
          delta = min_to[j];
          col1 = col;
        }
      }
      for (std::size_t j = 0; j < size; ++j) {
        if (used[j]) {
          u[static_cast<std::size_t>(row_of[j])] += delta;
          v[j] -= delta;
        } else {
          min_to[j] -= delta;
        }
      }
      col0 = col1;
    } while (row_of[static_cast<std::size_t>(col0)] != 0);
    do {
      const int col1 = way[static_cast<std::size_t>(col0)];
      row_of[static_cast<std::size_t>(col0)] = row_of[static_cast<std::size_t>(col1)];
      col0 = col1;
    } while (col0 != 0);
  }
  std::vector<int> col_of(static_cast<std::size_t>(n), -1);
  for (std::size_t col = 1; col < size; ++col) col_of[static_cast<std::size_t>(row_of[col] - 1)] = static_cast<int>(col) - 1;
  return col_of;
}

}  // namespace

Assignment assign_pairs(int rows, int cols, const std::vector<Pair>& pairs, double limit) {
  // Groups of rows and columns joined by pairs under the limit (columns are
  // numbered after the rows); rows and columns without such a pair stay
  // unmatched.
  const std::size_t nodes = static_cast<std::size_t>(rows + cols);
  std::vector<int> parent(nodes);
  std::iota(parent.begin(), parent.end(), 0);
  std::vector<char> paired(nodes, 0);
  for (const Pair& p : pairs) {
    if (!(p.cost < limit)) continue;
    parent[static_cast<std::size_t>(find_root(parent, p.row))] = find_root(parent, rows + p.col);
    paired[static_cast<std::size_t>(p.row)] = paired[static_cast<std::size_t>(rows + p.col)] = 1;
  }
  // Flat per-group lists (counting sort, so each group's rows and columns
  // stay ascending): members[member_start[g] ..] and group_pairs likewise.
  std::vector<int> group_of(nodes, -1), local(nodes, -1);
  std::vector<int> row_count, col_count;
  for (std::size_t i = 0; i < nodes; ++i) {
    if (!paired[i]) continue;
    int& group = group_of[static_cast<std::size_t>(find_root(parent, static_cast<int>(i)))];
    if (group < 0) {
      group = static_cast<int>(row_count.size());
      row_count.push_back(0);
      col_count.push_back(0);
    }
    group_of[i] = group;
    std::vector<int>& count = i < static_cast<std::size_t>(rows) ? row_count : col_count;
    local[i] = count[static_cast<std::size_t>(group)]++;
  }
  const std::size_t groups = row_count.size();
  std::vector<int> member_start(groups + 1, 0), pair_start(groups + 1, 0);
  for (std::size_t g = 0; g < groups; ++g) member_start[g + 1] = member_start[g] + row_count[g] + col_count[g];
  std::vector<int> members(static_cast<std::size_t>(member_start[groups]));
  for (std::size_t i = 0; i < nodes; ++i) {
    if (!paired[i]) continue;
    const std::size_t g = static_cast<std::size_t>(group_of[i]);
    const bool is_row = i < static_cast<std::size_t>(rows);
    members[static_cast<std::size_t>(member_start[g] + (is_row ? 0 : row_count[g]) + local[i])] =
        is_row ? static_cast<int>(i) : static_cast<int>(i) - rows;
  }
  for (const Pair& p : pairs) {
    if (p.cost < limit) ++pair_start[static_cast<std::size_t>(group_of[static_cast<std::size_t>(p.row)]) + 1];
  }
  for (std::size_t g = 0; g < groups; ++g) pair_start[g + 1] += pair_start[g];
  std::vector<const Pair*> group_pairs(static_cast<std::size_t>(pair_start[groups]));
  std::vector<int> filled(pair_start.begin(), pair_start.end() - 1);
  for (const Pair& p : pairs) {
    if (p.cost < limit) group_pairs[static_cast<std::size_t>(filled[static_cast<std::size_t>(group_of[static_cast<std::size_t>(p.row)])]++)] = &p;
  }

  std::vector<int> col_of_row(static_cast<std::size_t>(rows), -1);
  std::vector<double> square;
  std::vector<char> admissible;
  for (std::size_t g = 0; g < groups; ++g) {
    const int* group_rows = members.data() + member_start[g];
    const int* group_cols = group_rows + row_count[g];
    const std::size_t nr = static_cast<std::size_t>(row_count[g]), nc = static_cast<std::size_t>(col_count[g]);
    if (nr == 1 && nc == 1) {  // joined by one pair under the limit
      col_of_row[static_cast<std::size_t>(group_rows[0])] = group_cols[0];
      continue;
    }
    const std::size_t n = std::max(nr, nc);
    square.assign(n * n, 0.0);
    admissible.assign(n * n, 0);
    for (int k = pair_start[g]; k < pair_start[g + 1]; ++k) {
      const Pair& p = *group_pairs[static_cast<std::size_t>(k)];
      const std::size_t i = static_cast<std::size_t>(local[static_cast<std::size_t>(p.row)]);
      const std::size_t j = static_cast<std::size_t>(local[static_cast<std::size_t>(rows + p.col)]);
      square[i * n + j] = std::min(p.cost - limit, 0.0);
      admissible[i * n + j] = 1;
    }
    const std::vector<int> col_of = solve_square(square, static_cast<int>(n));
    for (std::size_t i = 0; i < nr; ++i) {
      const std::size_t j = static_cast<std::size_t>(col_of[i]);
      if (j < nc && admissible[i * n + j]) col_of_row[static_cast<std::size_t>(group_rows[i])] = group_cols[j];
    }
  }
  Assignment result;
  std::vector<char> col_taken(static_cast<std::size_t>(cols), 0);
  for (int r = 0; r < rows; ++r) {
    const int c = col_of_row[static_cast<std::size_t>(r)];
    if (c >= 0) {
      result.matches.emplace_back(r, c);
      col_taken[static_cast<std::size_t>(c)] = 1;
    } else {
      result.unmatched_rows.push_back(r);
    }
  }
  for (int c = 0; c < cols; ++c) {
    if (!col_taken[static_cast<std::size_t>(c)]) result.unmatched_cols.push_back(c);
  }
  return result;
}

}  // namespace track

Assignment linear_assignment(const std::vector<double>& cost, int rows, int cols, double limit) {
  if (rows < 0 || cols < 0 || cost.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols)) {
    throw Error("linear_assignment: the cost matrix must hold rows x cols values");
  }
  std::vector<track::Pair> pairs;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const double value = cost[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(c)];
      if (std::isnan(value)) throw Error("linear_assignment: the cost matrix holds NaN");
      if (value < limit) pairs.push_back({r, c, value});
    }
  }
  return track::assign_pairs(rows, cols, pairs, limit);
}

}  // namespace dusk
