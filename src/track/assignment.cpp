// Linear assignment with a cost limit. LAPJV with cost_limit solves the
// square problem extended by one dummy column per row and one dummy row per
// column, each costing limit / 2; its optimum is the matching that minimises
// the sum over matched pairs of (cost - limit). So only pairs cheaper than
// the limit can matter, and rows and columns split into independent groups
// joined by such pairs: each group is solved on its own (most are one row
// and one column), by the shortest augmenting path method with potentials,
// on costs min(cost - limit, 0), where a zero means "left unmatched".
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "dusk/error.hpp"
#include "dusk/track.hpp"

namespace dusk {

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
  std::vector<double> u(static_cast<std::size_t>(n + 1), 0), v(static_cast<std::size_t>(n + 1), 0);
  std::vector<int> row_of(static_cast<std::size_t>(n + 1), 0), way(static_cast<std::size_t>(n + 1), 0);
  std::vector<double> min_to(static_cast<std::size_t>(n + 1));
  std::vector<char> used(static_cast<std::size_t>(n + 1));
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
        if (used[static_cast<std::size_t>(col)]) continue;
        const double reduced = c(r0 - 1, col - 1) - u[static_cast<std::size_t>(r0)] - v[static_cast<std::size_t>(col)];
        if (reduced < min_to[static_cast<std::size_t>(col)]) {
          min_to[static_cast<std::size_t>(col)] = reduced;
          way[static_cast<std::size_t>(col)] = col0;
        }
        if (min_to[static_cast<std::size_t>(col)] < delta) {
          delta = min_to[static_cast<std::size_t>(col)];
          col1 = col;
        }
      }
      for (int col = 0; col <= n; ++col) {
        if (used[static_cast<std::size_t>(col)]) {
          u[static_cast<std::size_t>(row_of[static_cast<std::size_t>(col)])] += delta;
          v[static_cast<std::size_t>(col)] -= delta;
        } else {
          min_to[static_cast<std::size_t>(col)] -= delta;
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
  for (int col = 1; col <= n; ++col) col_of[static_cast<std::size_t>(row_of[static_cast<std::size_t>(col)] - 1)] = col - 1;
  return col_of;
}

}  // namespace

Assignment linear_assignment(const std::vector<double>& cost, int rows, int cols, double limit) {
  if (rows < 0 || cols < 0 || cost.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols)) {
    throw Error("linear_assignment: the cost matrix must hold rows x cols values");
  }
  for (const double value : cost) {
    if (std::isnan(value)) throw Error("linear_assignment: the cost matrix holds NaN");
  }
  const auto cell = [&](int r, int c) { return cost[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(c)]; };
  // Groups of rows and columns joined by pairs under the limit (columns are
  // numbered after the rows).
  std::vector<int> parent(static_cast<std::size_t>(rows + cols));
  std::iota(parent.begin(), parent.end(), 0);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      if (cell(r, c) < limit) parent[static_cast<std::size_t>(find_root(parent, r))] = find_root(parent, rows + c);
    }
  }
  std::vector<std::vector<int>> group_rows(static_cast<std::size_t>(rows + cols)), group_cols(group_rows.size());
  for (int r = 0; r < rows; ++r) group_rows[static_cast<std::size_t>(find_root(parent, r))].push_back(r);
  for (int c = 0; c < cols; ++c) group_cols[static_cast<std::size_t>(find_root(parent, rows + c))].push_back(c);

  std::vector<int> col_of_row(static_cast<std::size_t>(rows), -1);
  std::vector<double> square;
  for (std::size_t g = 0; g < group_rows.size(); ++g) {
    const std::vector<int>& gr = group_rows[g];
    const std::vector<int>& gc = group_cols[g];
    if (gr.empty() || gc.empty()) continue;
    if (gr.size() == 1 && gc.size() == 1) {  // joined by a pair under the limit
      col_of_row[static_cast<std::size_t>(gr[0])] = gc[0];
      continue;
    }
    const int n = static_cast<int>(std::max(gr.size(), gc.size()));
    square.assign(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), 0.0);
    for (std::size_t i = 0; i < gr.size(); ++i) {
      for (std::size_t j = 0; j < gc.size(); ++j) {
        square[i * static_cast<std::size_t>(n) + j] = std::min(cell(gr[i], gc[j]) - limit, 0.0);
      }
    }
    const std::vector<int> col_of = solve_square(square, n);
    for (std::size_t i = 0; i < gr.size(); ++i) {
      const int j = col_of[i];
      if (j < static_cast<int>(gc.size()) && cell(gr[i], gc[static_cast<std::size_t>(j)]) < limit) {
        col_of_row[static_cast<std::size_t>(gr[i])] = gc[static_cast<std::size_t>(j)];
      }
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

}  // namespace dusk
