#pragma once
// The columns of one engine call, as BOTH engines lay them out. A call works on n_p primal
// columns (samples); the first n_t of them are interior columns that also carry a tangent
// and m curvature directions each. Every per-node buffer holds, column after column,
//   [ tangents (n_t) | directions (m·n_t; direction k of column c at n_t + k·n_t + c) | primal (n_p) ]
// so that a layer's weight gradient over all of them is ONE product (GemmEngine: one gemm
// over the whole batch; FusedEngine: one team product per block of samples).
#include <amk/core/kokkos_compat.hpp>
#include <cstdint>

namespace amk::nn
{
struct ColumnLayout
{
  std::int64_t tangents = 0;   ///< n_t: interior columns (with tangents)
  std::int64_t directions = 0; ///< m: curvature directions per interior column
  std::int64_t primal = 0;     ///< n_p: all columns (value columns after the interior ones)

  KOKKOS_INLINE_FUNCTION std::int64_t direction_columns() const { return directions * tangents; }
  KOKKOS_INLINE_FUNCTION std::int64_t directions_begin() const { return tangents; }
  /// Where direction k of interior column c sits.
  KOKKOS_INLINE_FUNCTION std::int64_t direction(std::int64_t k, std::int64_t c) const
  {
    return tangents + k * tangents + c;
  }
  KOKKOS_INLINE_FUNCTION std::int64_t primal_begin() const { return tangents * (1 + directions); }
  /// Columns of a whole buffer: tangents, directions and primal.
  KOKKOS_INLINE_FUNCTION std::int64_t total() const { return primal_begin() + primal; }
};
} // namespace amk::nn
