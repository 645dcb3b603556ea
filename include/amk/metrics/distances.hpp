#pragma once
// Two-sample distances between sample sets X (n × d) and Y (m × d), rows = samples,
// computed as pairwise sums on the device.
//   energy distance  D² = 2E|X−Y| − E|X−X'| − E|Y−Y'|   (U-statistics within each set)
//   MMD²             E k(X,X') + E k(Y,Y') − 2E k(X,Y)  (unbiased), with the multi-scale
//                    RBF kernel k(a,b) = Σ_{c ∈ {¼,½,1,2,4}} exp(−|a−b|²/(2(cℓ)²)),
//                    ℓ = the RMS standard deviation of Y (so the scale follows the data).
// Both vanish when the two distributions are equal.
#include <amk/core/error.hpp>
#include <amk/core/types.hpp>
#include <cmath>

namespace amk::metrics
{
template <class ExecutionSpace = DefaultExec>
using Samples = Kokkos::View<double **, Kokkos::LayoutRight, typename ExecutionSpace::memory_space>;

namespace impl
{
/// Mean of f(|a−b|²) over pairs (rows of A, rows of B); i ≠ j when `distinct`.
template <class ExecutionSpace, class F>
double pair_mean(const ExecutionSpace &space, const Samples<ExecutionSpace> &A, const Samples<ExecutionSpace> &B,
                 bool distinct, F f)
{
  const std::int64_t n = A.extent(0), m = B.extent(0), d = A.extent(1);
  double sum = 0;
  Kokkos::parallel_reduce(
      "amk::metrics::pair_mean", policy(space, n * m),
      KOKKOS_LAMBDA(std::int64_t k, double &acc) {
        const std::int64_t i = k / m, j = k % m;
        if (distinct && i == j)
          return;
        double r2 = 0;
        for (std::int64_t r = 0; r < d; ++r)
        {
          const double e = A(i, r) - B(j, r);
          r2 += e * e;
        }
        acc += f(r2);
      },
      sum);
  const double pairs = distinct ? double(n) * double(n - 1) : double(n) * double(m);
  return sum / pairs;
}

struct Distance
{
  KOKKOS_INLINE_FUNCTION double operator()(double r2) const { return math::sqrt(r2); }
};

struct MultiScaleRbf
{
  double inv_two_l2; ///< 1 / (2ℓ²)
  KOKKOS_INLINE_FUNCTION double operator()(double r2) const
  {
    double k = 0, c2 = 1.0 / 16; // c² for c = ¼, ½, 1, 2, 4
    for (int i = 0; i < 5; ++i, c2 *= 4)
      k += math::exp(-r2 * inv_two_l2 / c2);
    return k;
  }
};
} // namespace impl

template <class ExecutionSpace>
double energy_distance(const ExecutionSpace &space, const Samples<ExecutionSpace> &X, const Samples<ExecutionSpace> &Y)
{
  require(X.extent(0) >= 2 && Y.extent(0) >= 2, "energy distance: each set needs at least 2 samples");
  require(X.extent(1) == Y.extent(1), "energy distance: the two sets have different dimensions");
  const impl::Distance f;
  return 2 * impl::pair_mean(space, X, Y, false, f) - impl::pair_mean(space, X, X, true, f) -
         impl::pair_mean(space, Y, Y, true, f);
}

/// The RMS standard deviation of the rows of Y (the kernel length scale ℓ).
template <class ExecutionSpace> double rms_std(const ExecutionSpace &space, const Samples<ExecutionSpace> &Y)
{
  const std::int64_t m = Y.extent(0), d = Y.extent(1);
  double var = 0;
  for (std::int64_t r = 0; r < d; ++r)
  {
    double s = 0, s2 = 0; // two reductions: Kokkos 3.4 has no multi-value reduce
    Kokkos::parallel_reduce(
        "amk::metrics::mean", policy(space, m), KOKKOS_LAMBDA(std::int64_t i, double &a) { a += Y(i, r); }, s);
    Kokkos::parallel_reduce(
        "amk::metrics::second_moment", policy(space, m),
        KOKKOS_LAMBDA(std::int64_t i, double &a) { a += Y(i, r) * Y(i, r); }, s2);
    var += s2 / double(m) - (s / double(m)) * (s / double(m));
  }
  return std::sqrt(std::max(var / double(d), 1e-300));
}

template <class ExecutionSpace>
double mmd2(const ExecutionSpace &space, const Samples<ExecutionSpace> &X, const Samples<ExecutionSpace> &Y)
{
  require(X.extent(0) >= 2 && Y.extent(0) >= 2, "MMD: each set needs at least 2 samples");
  require(X.extent(1) == Y.extent(1), "MMD: the two sets have different dimensions");
  const double l = rms_std(space, Y);
  const impl::MultiScaleRbf k{1 / (2 * l * l)};
  return impl::pair_mean(space, X, X, true, k) + impl::pair_mean(space, Y, Y, true, k) -
         2 * impl::pair_mean(space, X, Y, false, k);
}
} // namespace amk::metrics
