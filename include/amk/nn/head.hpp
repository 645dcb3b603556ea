#pragma once
// How the scalar action is read off the network output y, and the head's share of every
// sweep, entry by entry, for BOTH engines (x_r, y_r: row r of the input and of the output):
//   scalar     s = y₀             ∂s/∂y = 1                no direct ∂s/∂x
//   quadratic  s = ½|x − y|²      ∂s/∂y_r = y_r − x_r      ∂s/∂x_r = x_r − y_r (the reference code's form)
// With the tangent sweep's ẋ = a₀ (the loss's seed), ẏ = W γ_L and the reverse seed c_s = ∂ℓ/∂s:
//   ȳ_r = c_s ∂s/∂y_r + ∂ṡ/∂y_r       = c_s, or −c_s (x_r − y_r) − (ẋ_r − ẏ_r)
// and with curvature directions v_k (ẏ_k = W ḣ_L,k), the quadratic head adds to vᵀ∇²s v
//   Σ_k |v_x,k − ẏ_k|²,  whose adjoint is ζ_k = −2 c_lap (v_x,k − ẏ_k).
#include <amk/core/choice.hpp>
#include <amk/core/kokkos_compat.hpp>
#include <vector>

namespace amk::nn
{
enum class Head
{
  scalar,   ///< s = y (one output)
  quadratic ///< s = ½|x − y|² (d outputs), the reference code's form
};

inline const std::vector<Named<Head>> &choices(Head)
{
  static const std::vector<Named<Head>> table = {{Head::scalar, "scalar"}, {Head::quadratic, "quadratic"}};
  return table;
}

/// The head's formulas (see above), one entry at a time.
struct HeadRule
{
  bool quadratic = false;

  KOKKOS_INLINE_FUNCTION explicit HeadRule(Head head) : quadratic(head == Head::quadratic) {}

  /// One row's share of ½|x − y|²'s sum (quadratic head).
  template <class T> KOKKOS_INLINE_FUNCTION static T square(T x, T y) { return (x - y) * (x - y); }
  /// s from y₀ and Σ_r (x_r − y_r)².
  template <class T> KOKKOS_INLINE_FUNCTION T value(T y0, T squares) const { return quadratic ? squares / 2 : y0; }
  /// ∂s/∂y_r: the input-gradient sweep's seed.
  template <class T> KOKKOS_INLINE_FUNCTION T output_seed(T x, T y) const { return quadratic ? y - x : T(1); }
  /// The direct term of ∂s/∂x_r (quadratic head; 0 for the scalar head).
  template <class T> KOKKOS_INLINE_FUNCTION T direct_gradient(T x, T y) const { return quadratic ? x - y : T(0); }
  /// ȳ_r of a value column (no tangent): c_s ∂s/∂y_r.
  template <class T> KOKKOS_INLINE_FUNCTION T value_seed(T cs, T x, T y) const { return quadratic ? -cs * (x - y) : cs; }
  /// ȳ_r of an interior column: c_s ∂s/∂y_r + ∂ṡ/∂y_r.
  template <class T> KOKKOS_INLINE_FUNCTION T tangent_seed(T cs, T x, T y, T xdot, T ydot) const
  {
    return quadratic ? -cs * (x - y) - (xdot - ydot) : cs;
  }
  /// ζ_r of direction k: ∂(c_lap |v_x,k − ẏ_k|²)/∂ẏ_k,r (0 for the scalar head: s = y is linear in y).
  template <class T> KOKKOS_INLINE_FUNCTION T direction_seed(T clap, T v, T ydot) const
  {
    return quadratic ? -2 * clap * (v - ydot) : T(0);
  }
};
} // namespace amk::nn
