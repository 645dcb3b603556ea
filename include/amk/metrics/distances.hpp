#pragma once
// Two-sample distances between sample sets X (n × d) and Y (m × d), rows = samples,
// optionally weighted (a ≥ 0 on X, b ≥ 0 on Y: weighted particles of unbalanced AM, masses
// of the data), computed as pairwise sums on the device. Weighted means are normalised:
// E f(X, Y) = Σ a_i b_j f / (Σa Σb), and within one set Σ_{i≠j} a_i a_j f / Σ_{i≠j} a_i a_j.
//   energy distance  D² = 2E|X−Y| − E|X−X'| − E|Y−Y'|   (U-statistics within each set)
//   MMD²             E k(X,X') + E k(Y,Y') − 2E k(X,Y)  (unbiased), with the multi-scale
//                    RBF kernel k(a,b) = Σ_{c ∈ {¼,½,1,2,4}} exp(−|a−b|²/(2(cℓ)²)),
//                    ℓ = the RMS standard deviation of Y (so the scale follows the data);
//                    or, as the reference AM code measures its hydrogen experiment, the
//                    fixed kernel k(a,b) = Σ_j exp(−α_j|a−b|²) (there α_j = 10⁻⁴, j = 1…d).
// Both vanish when the two distributions are equal.
#include <amk/core/choice.hpp>
#include <amk/core/contracts.hpp>
#include <amk/core/error.hpp>
#include <amk/core/types.hpp>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace amk::metrics
{
/// The kernel of the MMD.
enum class MmdKernel
{
  multiscale, ///< the multi-scale RBF at ¼…4 of the data's scale
  reference   ///< Σ_j exp(−α|a−b|²), the reference AM code's hydrogen metric
};
inline const std::vector<Named<MmdKernel>> &choices(MmdKernel)
{
  static const std::vector<Named<MmdKernel>> table = {{MmdKernel::multiscale, "multiscale"},
                                                      {MmdKernel::reference, "reference"}};
  return table;
}

template <class ExecutionSpace = DefaultExec>
using Samples = Kokkos::View<double **, Kokkos::LayoutRight, typename ExecutionSpace::memory_space>;
/// Per-sample weights (empty: all 1).
template <class ExecutionSpace = DefaultExec>
using Weights = Kokkos::View<double *, typename ExecutionSpace::memory_space>;

namespace impl
{
/// Σ w and Σ w² (n and n for no weights).
template <class ExecutionSpace>
std::pair<double, double> weight_sums(const ExecutionSpace &space, const Weights<ExecutionSpace> &w, std::int64_t n)
{
  if (w.extent(0) == 0)
    return {double(n), double(n)};
  double s = 0, s2 = 0; // two reductions: Kokkos 3.4 has no multi-value reduce
  Kokkos::parallel_reduce(
      "amk::metrics::weight_sum", policy(space, n), KOKKOS_LAMBDA(std::int64_t i, double &a) { a += w(i); }, s);
  Kokkos::parallel_reduce(
      "amk::metrics::weight_sum2", policy(space, n), KOKKOS_LAMBDA(std::int64_t i, double &a) { a += w(i) * w(i); },
      s2);
  return {s, s2};
}

/// Weighted mean of f(|a−b|²) over pairs (rows of A, rows of B); i ≠ j when `distinct`
/// (then A and B are one set and wa = wb).
template <class ExecutionSpace, class F>
double pair_mean(const ExecutionSpace &space, const Samples<ExecutionSpace> &A, const Weights<ExecutionSpace> &wa,
                 const Samples<ExecutionSpace> &B, const Weights<ExecutionSpace> &wb, bool distinct, F f)
{
  const std::int64_t n = A.extent(0), m = B.extent(0), d = A.extent(1);
  const bool ua = wa.extent(0) == 0, ub = wb.extent(0) == 0;
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
        acc += (ua ? 1.0 : wa(i)) * (ub ? 1.0 : wb(j)) * f(r2);
      },
      sum);
  const auto [sa, sa2] = weight_sums(space, wa, n);
  const double norm = distinct ? sa * sa - sa2 : sa * weight_sums(space, wb, m).first;
  require(norm > 0, "metrics: the weights sum to zero");
  return sum / norm;
}

struct Distance
{
  KOKKOS_INLINE_FUNCTION double operator()(double r2) const { return math::sqrt(r2); }
};

struct GaussianSum
{
  static constexpr int most = 8;
  double alpha[most];
  int terms;
  KOKKOS_INLINE_FUNCTION double operator()(double r2) const
  {
    double k = 0;
    for (int j = 0; j < terms; ++j)
      k += math::exp(-alpha[j] * r2);
    return k;
  }
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

/// Unbiased MMD² with kernel k: E k(X,X') + E k(Y,Y') − 2E k(X,Y).
template <class ExecutionSpace, class Kernel>
double mmd2_with(const ExecutionSpace &space, const Samples<ExecutionSpace> &X, const Weights<ExecutionSpace> &a,
                 const Samples<ExecutionSpace> &Y, const Weights<ExecutionSpace> &b, Kernel k)
{
  return pair_mean(space, X, a, X, a, true, k) + pair_mean(space, Y, b, Y, b, true, k) -
         2 * pair_mean(space, X, a, Y, b, false, k);
}

/// Both sets need two samples (the U-statistics) and the same dimension.
template <class SampleView> void require_two_sets(const SampleView &X, const SampleView &Y, const std::string &what)
{
  require(X.extent(0) >= 2 && Y.extent(0) >= 2, what + ": each set needs at least 2 samples");
  require(X.extent(1) == Y.extent(1), what + ": the two sets have different dimensions");
}
} // namespace impl

template <class ExecutionSpace>
double energy_distance(const ExecutionSpace &space, const Samples<ExecutionSpace> &X, const Samples<ExecutionSpace> &Y,
                       const Weights<ExecutionSpace> &a = {}, const Weights<ExecutionSpace> &b = {})
{
  AMK_CHECK_SPACE(ExecutionSpace, "amk::metrics::energy_distance");
  impl::require_two_sets(X, Y, "energy distance");
  const impl::Distance f;
  return 2 * impl::pair_mean(space, X, a, Y, b, false, f) - impl::pair_mean(space, X, a, X, a, true, f) -
         impl::pair_mean(space, Y, b, Y, b, true, f);
}

/// The RMS standard deviation of the rows of Y (the kernel length scale ℓ).
template <class ExecutionSpace> double rms_std(const ExecutionSpace &space, const Samples<ExecutionSpace> &Y)
{
  AMK_CHECK_SPACE(ExecutionSpace, "amk::metrics::rms_std");
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
double mmd2(const ExecutionSpace &space, const Samples<ExecutionSpace> &X, const Samples<ExecutionSpace> &Y,
            const Weights<ExecutionSpace> &a = {}, const Weights<ExecutionSpace> &b = {})
{
  AMK_CHECK_SPACE(ExecutionSpace, "amk::metrics::mmd2");
  impl::require_two_sets(X, Y, "MMD");
  const double l = rms_std(space, Y);
  return impl::mmd2_with(space, X, a, Y, b, impl::MultiScaleRbf{1 / (2 * l * l)});
}

/// Unbiased MMD² with the fixed kernel k(a,b) = Σ_j exp(−α_j|a−b|²) (at most 8 terms): the
/// reference code's metric with α_j = 10⁻⁴ for j = 1…d.
template <class ExecutionSpace>
double mmd2_fixed(const ExecutionSpace &space, const Samples<ExecutionSpace> &X, const Samples<ExecutionSpace> &Y,
                  const std::vector<double> &alphas, const Weights<ExecutionSpace> &a = {},
                  const Weights<ExecutionSpace> &b = {})
{
  AMK_CHECK_SPACE(ExecutionSpace, "amk::metrics::mmd2_fixed");
  impl::require_two_sets(X, Y, "MMD");
  require(!alphas.empty() && alphas.size() <= std::size_t(impl::GaussianSum::most),
          "MMD: the fixed kernel takes 1 to 8 terms");
  impl::GaussianSum k{};
  k.terms = int(alphas.size());
  for (std::size_t j = 0; j < alphas.size(); ++j)
  {
    require(alphas[j] > 0 && std::isfinite(alphas[j]), "MMD: the kernel's alpha must be positive");
    k.alpha[j] = alphas[j];
  }
  return impl::mmd2_with(space, X, a, Y, b, k);
}
} // namespace amk::metrics
