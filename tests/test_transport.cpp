// Exact optimal transport (data/transport.hpp) and the Wasserstein distances built on it
// (metrics/wasserstein.hpp), against brute force and closed forms.
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/data/transport.hpp>
#include <amk/metrics/wasserstein.hpp>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>
#include <gtest/gtest.h>

namespace
{
using namespace amk;

std::vector<double> normals(int n, int d, std::uint64_t stream, double shift = 0, double scale = 1)
{
  std::vector<double> x(std::size_t(n * d));
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < d; ++r)
      x[std::size_t(i * d + r)] = shift + scale * RandomKey(stream)(std::uint64_t(i)).normal(std::uint64_t(r));
  return x;
}

/// W_p between 1-D weighted empirical measures by their quantile functions: ∫₀¹ |F⁻¹(u) − G⁻¹(u)|^p du.
double quantile_wasserstein(std::vector<std::pair<double, double>> a, std::vector<std::pair<double, double>> b, int p)
{
  auto normalise = [](auto &v)
  {
    std::sort(v.begin(), v.end());
    double s = 0;
    for (auto &e : v)
      s += e.second;
    for (auto &e : v)
      e.second /= s;
  };
  normalise(a);
  normalise(b);
  double total = 0, u = 0;
  std::size_t i = 0, j = 0;
  double left_a = a[0].second, left_b = b[0].second;
  while (i < a.size() && j < b.size())
  {
    const double step = std::min(left_a, left_b);
    total += step * std::pow(std::abs(a[i].first - b[j].first), p);
    u += step;
    left_a -= step;
    left_b -= step;
    if (left_a <= 1e-15 && ++i < a.size())
      left_a = a[i].second;
    if (left_b <= 1e-15 && ++j < b.size())
      left_b = b[j].second;
  }
  return p == 1 ? total : std::sqrt(total);
}

TEST(Transport, TheNetworkSimplexFindsTheOptimalAssignment)
{
  // 7 points against 7 in 3-D, cost |x − y|²: against all 7! permutations
  const int n = 7, d = 3;
  const auto X = normals(n, d, 1), Y = normals(n, d, 2, 0.5);
  std::vector<double> cost(std::size_t(n * n));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int r = 0; r < d; ++r)
        cost[std::size_t(i * n + j)] += std::pow(X[std::size_t(i * d + r)] - Y[std::size_t(j * d + r)], 2);
  std::vector<int> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  double best = 1e300;
  do
  {
    double c = 0;
    for (int i = 0; i < n; ++i)
      c += cost[std::size_t(i * n + perm[std::size_t(i)])];
    best = std::min(best, c);
  } while (std::next_permutation(perm.begin(), perm.end()));
  const auto plan = data::exact_transport(std::vector<std::int64_t>(n, 1), std::vector<std::int64_t>(n, 1), cost);
  EXPECT_NEAR(plan.cost, best, 1e-12 * best);
  EXPECT_EQ(plan.flow.size(), std::size_t(n)) << "a permutation: one entry per row";
  EXPECT_THROW(data::exact_transport({1, 2}, {1, 1}, std::vector<double>(4, 1.0)), Error) << "unequal totals";
  EXPECT_THROW(data::exact_transport({-1, 3}, {1, 1}, std::vector<double>(4, 1.0)), Error) << "a negative mass";
}

TEST(Wasserstein, OneDimensionalSetsMatchTheQuantileFormula)
{
  // In 1-D, W_p is the L^p distance of the quantile functions, for any sizes and weights:
  // 13 against 20 samples, uniform and weighted (the particles of unbalanced AM)
  const int n = 13, m = 20;
  const auto X = normals(n, 1, 3), Y = normals(m, 1, 4, 0.7, 1.5);
  std::vector<double> a(n), b(m);
  for (int i = 0; i < n; ++i)
    a[std::size_t(i)] = 0.2 + RandomKey(5)(std::uint64_t(i)).uniform(0);
  for (int j = 0; j < m; ++j)
    b[std::size_t(j)] = 0.2 + RandomKey(6)(std::uint64_t(j)).uniform(0);
  for (const bool weighted : {false, true})
  {
    std::vector<std::pair<double, double>> qa, qb;
    for (int i = 0; i < n; ++i)
      qa.push_back({X[std::size_t(i)], weighted ? a[std::size_t(i)] : 1.0});
    for (int j = 0; j < m; ++j)
      qb.push_back({Y[std::size_t(j)], weighted ? b[std::size_t(j)] : 1.0});
    const auto w = weighted ? metrics::wasserstein(X, n, Y, m, 1, a, b) : metrics::wasserstein(X, n, Y, m, 1);
    const double w1 = quantile_wasserstein(qa, qb, 1), w2 = quantile_wasserstein(qa, qb, 2);
    std::printf("[%s] W1 %.9f (quantiles %.9f), W2 %.9f (quantiles %.9f)\n", weighted ? "weighted" : "uniform", w.w1,
                w1, w.w2, w2);
    // uniform masses are exact integers; weights are rounded to 1e-9 of the total
    EXPECT_NEAR(w.w1, w1, weighted ? 1e-7 : 1e-12);
    EXPECT_NEAR(w.w2, w2, weighted ? 1e-7 : 1e-12);
  }
}

TEST(Wasserstein, ShiftedGaussiansApproachTheirClosedForm)
{
  // W2(N(0, I), N(μ, I)) = |μ| and W1 ≥ ... = |μ| for a pure shift (the optimal map is x + μ), in 2-D;
  // the same samples shifted exactly give W1 = W2 = |μ| to rounding
  const int n = 300, d = 2;
  const auto X = normals(n, d, 7);
  std::vector<double> Y = X;
  for (int i = 0; i < n; ++i)
  {
    Y[std::size_t(i * d)] += 0.3;
    Y[std::size_t(i * d + 1)] -= 0.4;
  }
  const auto w = metrics::wasserstein(X, n, Y, n, d);
  EXPECT_NEAR(w.w2, 0.5, 1e-12) << "a translation: W2 = |μ|";
  EXPECT_NEAR(w.w1, 0.5, 1e-12) << "a translation: W1 = |μ|";
  const auto same = metrics::wasserstein(X, n, X, n, d);
  EXPECT_NEAR(same.w1, 0, 1e-15);
  EXPECT_THROW(metrics::wasserstein(X, n, Y, n, d, std::vector<double>(n, -1.0)), Error) << "negative weights";
}
} // namespace
