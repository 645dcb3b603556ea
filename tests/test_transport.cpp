// Exact optimal transport (data/transport.hpp) and the Wasserstein distances built on it
// (metrics/wasserstein.hpp), against brute force and closed forms.
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/data/transport.hpp>
#include <amk/metrics/wasserstein.hpp>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>
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

/// factor × |x_i − y_j|² for the rows of X and Y (n points each in d dimensions), row-major.
std::vector<double> squared_costs(const std::vector<double> &X, const std::vector<double> &Y, int n, int d,
                                  double factor = 1)
{
  std::vector<double> cost(std::size_t(n * n));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int r = 0; r < d; ++r)
        cost[std::size_t(i * n + j)] += factor * std::pow(X[std::size_t(i * d + r)] - Y[std::size_t(j * d + r)], 2);
  return cost;
}

/// The least total cost of an assignment of n rows to n columns, over all n! permutations.
double brute_force_assignment(const std::vector<double> &cost, int n)
{
  std::vector<int> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  double best = 1e300;
  do
  {
    double c = 0;
    for (int i = 0; i < n; ++i)
      c += cost[std::size_t(i * n + perm[std::size_t(i)])];
    best = std::min(best, c);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
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
  const auto cost = squared_costs(normals(n, d, 1), normals(n, d, 2, 0.5), n, d);
  const double best = brute_force_assignment(cost, n);
  const auto plan = data::exact_transport(std::vector<std::int64_t>(n, 1), std::vector<std::int64_t>(n, 1), cost);
  EXPECT_NEAR(plan.cost, best, 1e-12 * best);
  EXPECT_EQ(plan.flow.size(), std::size_t(n)) << "a permutation: one entry per row";
  EXPECT_THROW(data::exact_transport({1, 2}, {1, 1}, std::vector<double>(4, 1.0)), Error) << "unequal totals";
  EXPECT_THROW(data::exact_transport({-1, 3}, {1, 1}, std::vector<double>(4, 1.0)), Error) << "a negative mass";
}

TEST(Transport, TheHostAuctionIsOptimalWithinItsResolution)
{
  // 8 points against 8 in 3-D (all 8! permutations) at ε = 1e-9 × the mean cost: the optimum;
  // 400 against 400 at the coupling's ε = 1e-3: a permutation within n·ε of the network
  // simplex's optimum (the auction's bound), and close to it in fact.
  auto total = [](const std::vector<double> &cost, const std::vector<std::int64_t> &p)
  {
    double c = 0;
    const std::size_t n = p.size();
    std::vector<int> taken(n, 0);
    for (std::size_t i = 0; i < n; ++i)
    {
      c += cost[i * n + std::size_t(p[i])];
      ++taken[std::size_t(p[i])];
    }
    EXPECT_TRUE(std::all_of(taken.begin(), taken.end(), [](int t) { return t == 1; })) << "a permutation";
    return c;
  };
  {
    const int n = 8, d = 3;
    const auto cost = squared_costs(normals(n, d, 5), normals(n, d, 6, 0.3), n, d, 0.5);
    const double best = brute_force_assignment(cost, n);
    EXPECT_NEAR(total(cost, data::auction_assignment(cost, n, 1e-9)), best, 1e-7 * best);
  }
  const int n = 400, d = 3;
  const auto cost = squared_costs(normals(n, d, 7), normals(n, d, 8, 0.3), n, d, 0.5);
  const double mean = std::accumulate(cost.begin(), cost.end(), 0.0) / double(n * n);
  const double optimum =
      data::exact_transport(std::vector<std::int64_t>(n, 1), std::vector<std::int64_t>(n, 1), cost).cost;
  const double found = total(cost, data::auction_assignment(cost, n, 1e-3));
  EXPECT_GE(found, optimum - 1e-9 * optimum);
  EXPECT_LE(found, optimum + n * 1e-3 * mean) << "within n·ε of the optimum";
  EXPECT_LE(found, optimum * (1 + 1e-3)) << "measured 1e-4 above it";
  EXPECT_THROW(data::auction_assignment(std::vector<double>(6, 1.0), 2, 1e-3), Error) << "not n x n";
  EXPECT_THROW(data::auction_assignment({0.0, NAN, 1.0, 0.0}, 2, 1e-3), Error) << "a cost that is not finite";
}

TEST(Transport, TheVectorScanOfTheAuctionIsTheScalarOne)
{
  // The bid's scan (least and second least of cost + price, the first column of the least)
  // as the target's vector code and as the plain loop, on lengths 1 … 70 (tails and lanes)
  // with ties (values rounded to a coarse grid) and without: the same three numbers.
  for (std::size_t n = 1; n <= 70; ++n)
    for (const double grid : {0.0, 0.25})
    {
      std::vector<double> cost(n), price(n);
      for (std::size_t j = 0; j < n; ++j)
      {
        cost[j] = RandomKey(11)(n)(j).normal(0);
        price[j] = RandomKey(12)(n)(j).normal(0);
        if (grid > 0)
        {
          cost[j] = std::round(cost[j] / grid) * grid;
          price[j] = 0;
        }
      }
      const auto fast = data::impl::least_two(cost.data(), price.data(), n);
      const auto plain = data::impl::least_two_scalar(cost.data(), price.data(), n);
      EXPECT_EQ(fast.first, plain.first) << n;
      EXPECT_EQ(fast.second, plain.second) << n;
      EXPECT_EQ(fast.at, plain.at) << n;
    }
}

TEST(Wasserstein, OneDimensionalSetsMatchTheQuantileFormula)
{
  // In 1-D, W_p is the L^p distance of the quantile functions, for any sizes and weights:
  // 13 against 20 samples, uniform and weighted (the particles of unbalanced AM); and 400
  // against 530 with nearly uniform weights (log-weights within 0.06, as unbalanced AM pushes
  // the simulated circuit), on which the simplex with floating-point costs cycled for ever.
  for (const auto &[n, m, spread] : {std::tuple<int, int, double>{13, 20, 0.0}, {400, 530, 0.06}})
  {
    const auto X = normals(n, 1, 3), Y = normals(m, 1, 4, 0.7, 1.5);
    std::vector<double> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(m));
    const auto weight = [&](std::uint64_t stream, int i)
    {
      const double u = RandomKey(stream)(std::uint64_t(i)).uniform(0);
      return spread > 0 ? std::exp(spread * u) : 0.2 + u;
    };
    for (int i = 0; i < n; ++i)
      a[std::size_t(i)] = weight(5, i);
    for (int j = 0; j < m; ++j)
      b[std::size_t(j)] = weight(6, j);
    for (const bool weighted : {false, true})
    {
      std::vector<std::pair<double, double>> qa, qb;
      for (int i = 0; i < n; ++i)
        qa.push_back({X[std::size_t(i)], weighted ? a[std::size_t(i)] : 1.0});
      for (int j = 0; j < m; ++j)
        qb.push_back({Y[std::size_t(j)], weighted ? b[std::size_t(j)] : 1.0});
      const auto w = weighted ? metrics::wasserstein(X, n, Y, m, 1, a, b) : metrics::wasserstein(X, n, Y, m, 1);
      const double w1 = quantile_wasserstein(qa, qb, 1), w2 = quantile_wasserstein(qa, qb, 2);
      std::printf("[%d x %d, %s] W1 %.9f (quantiles %.9f), W2 %.9f (quantiles %.9f)\n", n, m,
                  weighted ? "weighted" : "uniform", w.w1, w1, w.w2, w2);
      // uniform masses are exact integers; weights are rounded to 1e-9 of the total
      EXPECT_NEAR(w.w1, w1, weighted ? 1e-7 : 1e-12);
      EXPECT_NEAR(w.w2, w2, weighted ? 1e-7 : 1e-12);
    }
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
