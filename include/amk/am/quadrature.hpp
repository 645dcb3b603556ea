#pragma once
// Time at the snapshot times (--time quadrature): the nodes of a rank's window with their
// quadrature weights. An interior column draws node k with probability w_k / Σw (so that the
// plain mean over the batch is the quadrature sum); the difference rule also evaluates s at
// the nodes after and before it. The rules per window add up to the rule over all nodes
// (shared edge nodes take half an interval from each side; Simpson's windows are whole
// pairs of intervals).
#include <amk/am/objective.hpp>
#include <amk/core/error.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace amk::am
{
/// Quadrature weights of the normalised snapshot times t (summing to t.back() − t.front()).
inline std::vector<double> quadrature_weights(const std::vector<double> &t, QuadratureRule rule)
{
  const std::size_t K = t.size();
  require(K >= 2, "quadrature: needs at least 2 snapshots");
  std::vector<double> w(K, 0.0);
  if (rule == QuadratureRule::simpson)
  {
    const double h = (t.back() - t.front()) / double(K - 1);
    bool equal = K % 2 == 1;
    for (std::size_t k = 1; k < K && equal; ++k)
      equal = std::abs(t[k] - t[k - 1] - h) <= 1e-9 * (t.back() - t.front());
    require(equal, "train: --rule simpson needs an odd number of equally spaced snapshots (use trapezoid)");
    for (std::size_t k = 0; k < K; ++k)
      w[k] = h / 3 * (k == 0 || k == K - 1 ? 1 : (k % 2 == 1 ? 4 : 2));
  }
  else
    for (std::size_t k = 0; k < K; ++k)
      w[k] = ((k + 1 < K ? t[k + 1] : t[k]) - (k > 0 ? t[k - 1] : t[k])) / 2;
  return w;
}

/// One node of a window.
struct QuadratureNode
{
  double time = 0;       ///< its normalised time
  double cumulative = 0; ///< Σ_{j ≤ k} w_j / Σ w (the last node's is 2: beyond any draw u < 1)
  int next = 0;          ///< the node after it (itself at the window's end), for differences
  int previous = 0;      ///< the node before it (itself at the window's start)
  double inverse_gap = 0; ///< 1 / (t_next − t_previous)
};

/// The nodes times[first … last] (the whole set when last < first) and their total weight.
struct QuadratureNodes
{
  std::vector<QuadratureNode> nodes;
  double total_weight = 0;

  QuadratureNodes(const std::vector<double> &times, std::int64_t first, std::int64_t last, QuadratureRule rule)
  {
    const bool windowed = last >= first;
    const std::vector<double> t(times.begin() + (windowed ? first : 0),
                                windowed ? times.begin() + last + 1 : times.end());
    // the difference rule differences s between nodes and weighs them by the trapezoid
    const auto w = quadrature_weights(t, rule == QuadratureRule::difference ? QuadratureRule::trapezoid : rule);
    for (double v : w)
      total_weight += v;
    const int K = int(t.size());
    double cumulative = 0;
    for (int k = 0; k < K; ++k)
    {
      cumulative += w[std::size_t(k)];
      QuadratureNode n;
      n.time = t[std::size_t(k)];
      n.cumulative = k == K - 1 ? 2.0 : cumulative / total_weight;
      n.next = std::min(k + 1, K - 1);
      n.previous = std::max(k - 1, 0);
      n.inverse_gap = 1 / (t[std::size_t(n.next)] - t[std::size_t(n.previous)]);
      nodes.push_back(n);
    }
  }
};
} // namespace amk::am
