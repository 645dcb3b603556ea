// The two-sample distances of `amk eval` against closed forms.
#include "backend.hpp"
#include <amk/core/random.hpp>
#include <amk/metrics/distances.hpp>
#include <cmath>
#include <cstdio>
#include <vector>
#include <gtest/gtest.h>

namespace
{
using namespace amk;
using Exec = amk::test::Exec;

metrics::Samples<Exec> normal_1d(int n, double mean, std::uint64_t seed)
{
  metrics::Samples<Exec> x("x", n, 1);
  auto h = Kokkos::create_mirror_view(x);
  const RandomKey key(seed);
  for (int i = 0; i < n; ++i)
    h(i, 0) = mean + key.normal(i);
  Kokkos::deep_copy(x, h);
  return x;
}

/// E|Z| for Z ~ N(m, s²): s√(2/π) e^{−m²/2s²} + m(1 − 2Φ(−m/s)).
double mean_abs(double m, double s)
{
  const double Phi = 0.5 * std::erfc(m / s / std::sqrt(2.0));
  return s * std::sqrt(2 / M_PI) * std::exp(-m * m / (2 * s * s)) + m * (1 - 2 * Phi);
}

TEST(Metrics, EnergyDistanceOfShiftedGaussiansMatchesClosedForm)
{
  // X ~ N(0,1), Y ~ N(μ,1): D² = 2E|X−Y| − E|X−X'| − E|Y−Y'| with X−Y ~ N(−μ, 2), X−X' ~ N(0, 2).
  // The estimate is unbiased; its spread is dominated by the sample means' error √(2/n),
  // amplified by ∂D²/∂μ = 2(1 − 2Φ(−μ/√2)), plus an O(1/√n) rest: 4 standard errors allowed.
  const int n = 3000;
  for (double mu : {0.0, 0.5, 2.0})
  {
    const auto X = normal_1d(n, 0, 1), Y = normal_1d(n, mu, 2);
    const double exact = 2 * mean_abs(mu, std::sqrt(2.0)) - 2 * mean_abs(0, std::sqrt(2.0));
    const double slope = 2 * (1 - std::erfc(mu / 2)); // 2(1 − 2Φ(−μ/√2)), Φ(−a) = erfc(a/√2)/2
    const double tol = 4 * (slope * std::sqrt(2.0 / n) + 1.0 / n) + 0.005;
    EXPECT_NEAR(metrics::energy_distance(Exec(), X, Y), exact, tol) << "mu = " << mu;
  }
}

TEST(Metrics, MmdVanishesForEqualDistributionsAndGrowsWithTheShift)
{
  const int n = 2000;
  const auto X = normal_1d(n, 0, 3), Y = normal_1d(n, 0, 4);
  const double same = metrics::mmd2(Exec(), X, Y);
  const double near = metrics::mmd2(Exec(), normal_1d(n, 0.3, 5), Y);
  const double far = metrics::mmd2(Exec(), normal_1d(n, 1.5, 6), Y);
  EXPECT_NEAR(same, 0.0, 0.01); // unbiased: fluctuates around 0 by ~1/n
  EXPECT_GT(near, 0.02);
  EXPECT_GT(far, near);
}

TEST(Metrics, WeightedSamplesMeasureTheirWeightedDistribution)
{
  // X uniform on [−5, 5] carrying importance weights φ(x) (the N(0,1) density) is an
  // N(0,1) sample: its weighted energy distance to N(0,1) and to N(μ,1) follows the closed
  // form of the previous test; unweighted it is far from N(0,1). Uniform weights change
  // nothing.
  const int n = 3000;
  metrics::Samples<Exec> X("x", n, 1);
  metrics::Weights<Exec> w("w", n), ones("ones", n);
  auto xh = Kokkos::create_mirror_view(X);
  auto wh = Kokkos::create_mirror_view(w);
  const RandomKey key(9);
  for (int i = 0; i < n; ++i)
  {
    xh(i, 0) = -5 + 10 * key.uniform(i);
    wh(i) = std::exp(-xh(i, 0) * xh(i, 0) / 2);
  }
  Kokkos::deep_copy(X, xh);
  Kokkos::deep_copy(w, wh);
  Kokkos::deep_copy(ones, 3.0);
  const auto Y = normal_1d(n, 0, 10), Z = normal_1d(n, 1.0, 11);
  const double weighted = metrics::energy_distance(Exec(), X, Y, w);
  const double shifted = metrics::energy_distance(Exec(), X, Z, w);
  const double exact_shifted = 2 * mean_abs(1.0, std::sqrt(2.0)) - 2 * mean_abs(0, std::sqrt(2.0));
  std::printf("[ weighted ] energy distance %.4f (0), shifted %.4f (%.4f)\n", weighted, shifted, exact_shifted);
  EXPECT_NEAR(weighted, 0.0, 0.02); // importance weights: effective n ≈ n/1.8, so a wider band
  EXPECT_NEAR(shifted, exact_shifted, 0.06);
  EXPECT_GT(metrics::energy_distance(Exec(), X, Y), 0.5); // unweighted: uniform on [−5, 5]
  EXPECT_NEAR(metrics::energy_distance(Exec(), Y, Z, ones), metrics::energy_distance(Exec(), Y, Z), 1e-12);
  EXPECT_NEAR(metrics::mmd2(Exec(), X, Y, w), 0.0, 0.02);
  EXPECT_GT(metrics::mmd2(Exec(), X, Y), 0.1);
}

metrics::Samples<Exec> normal(int n, int d, double mean, double sd, std::uint64_t seed)
{
  metrics::Samples<Exec> x("x", n, d);
  auto h = Kokkos::create_mirror_view(x);
  const RandomKey key(seed);
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < d; ++r)
      h(i, r) = mean + sd * key(std::uint64_t(i)).normal(std::uint64_t(r));
  Kokkos::deep_copy(x, h);
  return x;
}

/// E exp(−α|X − Y|²) for X ~ N(μ₁, s₁²I), Y ~ N(μ₂, s₂²I) independent in d dimensions:
/// (1 + 2αv)^{−d/2} exp(−α|Δμ|²/(1 + 2αv)), v = s₁² + s₂².
double gaussian_kernel_mean(double alpha, int d, double dmu2, double v)
{
  return std::pow(1 + 2 * alpha * v, -d / 2.0) * std::exp(-alpha * dmu2 / (1 + 2 * alpha * v));
}

TEST(Metrics, FixedKernelMmdMatchesTheClosedFormAndIsUnbiased)
{
  // The reference code's kernel Σ_j exp(−α_j r²); α chosen so that the kernel sees the
  // distributions' scale (10⁻⁴ would need data on the scale of 100, as the hydrogen atom's).
  const int d = 3, n = 400;
  const std::vector<double> alphas = {0.05, 0.2, 0.8};
  const double shift = 1.0; // every coordinate: |Δμ|² = d
  double exact = 0;
  for (double a : alphas)
    exact += gaussian_kernel_mean(a, d, 0, 2 * 1.0) + gaussian_kernel_mean(a, d, 0, 2 * 1.5 * 1.5) -
             2 * gaussian_kernel_mean(a, d, d * shift * shift, 1.0 + 1.5 * 1.5);
  // the mean over seeds of the estimate against the closed form, and for equal laws against 0
  const int seeds = 60;
  double sum = 0, sum2 = 0, same = 0, same2 = 0;
  for (int s = 0; s < seeds; ++s)
  {
    const double m = metrics::mmd2_fixed(Exec(), normal(n, d, 0, 1, 100 + s), normal(n, d, shift, 1.5, 200 + s), alphas);
    const double z = metrics::mmd2_fixed(Exec(), normal(n, d, 0, 1, 300 + s), normal(n, d, 0, 1, 400 + s), alphas);
    sum += m, sum2 += m * m, same += z, same2 += z * z;
  }
  const double mean = sum / seeds, se = std::sqrt((sum2 / seeds - mean * mean) / seeds);
  const double zero = same / seeds, se0 = std::sqrt((same2 / seeds - zero * zero) / seeds);
  std::printf("[ fixed-kernel MMD² ] mean %.5f ± %.5f (closed form %.5f); equal laws %.2e ± %.1e\n", mean, se, exact,
              zero, se0);
  EXPECT_NEAR(mean, exact, 4 * se);
  EXPECT_NEAR(zero, 0.0, 4 * se0);
  EXPECT_GT(exact, 20 * se) << "the test sees a difference of laws";
}
} // namespace
