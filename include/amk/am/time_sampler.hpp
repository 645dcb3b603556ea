#pragma once
// The interior times of a batch: drawn per column from its GLOBAL index i (step·B + its
// place in the global batch), so that a batch split over any number of ranks draws the same
// times as on one rank, and a resumed run needs no generator state.
#include <amk/core/choice.hpp>
#include <amk/core/kokkos_compat.hpp>
#include <amk/core/random.hpp>
#include <cstdint>
#include <vector>

namespace amk::am
{
enum class TimeSampling
{
  low_discrepancy, ///< t_i = (u₀ + √2·i) mod 1, i running across steps (the reference code's)
  stratified,      ///< t = (i mod B + U)/B: one draw per 1/B-stratum each step
  uniform          ///< t ~ U(0, 1)
};

inline const std::vector<Named<TimeSampling>> &choices(TimeSampling)
{
  static const std::vector<Named<TimeSampling>> table = {{TimeSampling::low_discrepancy, "low-discrepancy"},
                                                         {TimeSampling::stratified, "stratified"},
                                                         {TimeSampling::uniform, "uniform"}};
  return table;
}

/// u ∈ [0, 1) of global interior index i, the position of its time in the rank's window
/// (the batch maps it into the window, or onto a quadrature node).
struct TimeSampler
{
  TimeSampling sampling = TimeSampling::low_discrepancy;
  double u0 = 0;                   ///< the low-discrepancy sequence's start (from the seed)
  RandomKey key{0};                ///< stratified and uniform draws
  std::uint64_t batch = 1;         ///< B: interior columns of the global batch
  std::uint64_t window_begin = 0;  ///< the window's first column in the global batch
  double window_columns = 1;       ///< its columns: the strata of a stratified draw

  KOKKOS_INLINE_FUNCTION double operator()(std::uint64_t i) const
  {
    if (sampling == TimeSampling::low_discrepancy)
    {
      const double v = u0 + 1.4142135623730951 * double(i);
      return v - math::floor(v);
    }
    if (sampling == TimeSampling::stratified) // a stratum per column of the window
      return (double(i % batch - window_begin) + key.uniform(i)) / window_columns;
    return key.uniform(i);
  }
};
} // namespace amk::am
