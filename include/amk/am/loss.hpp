#pragma once
// The plain Action Matching loss (Neklyudov et al., ICML 2023, eq. 6 / Algorithm 1):
//   L(θ) = E_{q0}[s(x,0)] − E_{q1}[s(x,1)] + ∫₀¹ E_{q_t}[ ½|∇ₓs|² + ∂ₜs ] dt
// estimated on one batch laid out as the engine's columns:
//   [0, n_int)                    interior samples (t_c, x_c ~ q_{t_c}), weight 1/B
//   [n_int, n_int + n_0)          x ~ q_0 at t = 0, weight +1/B₀
//   [n_int + n_0, n_p)            x ~ q_1 at t = 1, weight −1/B₁
// B, B₀, B₁ are GLOBAL batch sizes, so that under MPI the per-rank gradients simply add.
// The loss writes the engine's seeds: c_s = ∂ℓ/∂s and a₀ = ∂ℓ/∂g with g = ∇ᵤs,
//   a₀ = (∇ₓs, e'(t)) / B   (since ∂ₜs = Σ_j g_{d+j} e_j'(t) through the time features).
#include <amk/core/types.hpp>
#include <amk/nn/engine.hpp>

namespace amk::am
{
/// Sample counts of one batch: local column counts and global normalisers.
struct BatchLayout
{
  int interior = 0, boundary0 = 0, boundary1 = 0; ///< this rank's columns
  double global_interior = 1, global_boundary0 = 1, global_boundary1 = 1;
  int primal() const { return interior + boundary0 + boundary1; }
};

/// This rank's share of the loss (sum over ranks gives the loss).
struct LossParts
{
  double boundary = 0; ///< E_{q0}[s0] − E_{q1}[s1]
  double interior = 0; ///< E[½|∇ₓs|² + ∂ₜs]
  double total() const { return boundary + interior; }
};

/// The plain AM loss of one column, for any engine: the loss term it adds and the seeds it
/// writes (c_s = ∂ℓ/∂s; for interior columns also a₀ = ∂ℓ/∂g). One definition of the loss
/// for the GEMM engine's seed kernels and the fused engine's per-block seeds.
template <class Scalar, class ExecutionSpace> struct PlainLoss
{
  int dim = 0, input_size = 0, interior_count = 0, boundary0_count = 0;
  nn::TimeEmbedding<Scalar> embed;
  Scalar w = 0, w0 = 0, w1 = 0;
  Vector<Scalar, ExecutionSpace> t; ///< normalised times of the interior columns

  PlainLoss(const nn::MlpShape &shape, const BatchLayout &layout, const Vector<Scalar, ExecutionSpace> &times)
      : dim(shape.dim), input_size(shape.input_size()), interior_count(layout.interior),
        boundary0_count(layout.boundary0), embed{shape.time_features}, w(Scalar(1 / layout.global_interior)),
        w0(Scalar(1 / layout.global_boundary0)), w1(Scalar(1 / layout.global_boundary1)), t(times)
  {
  }

  /// Interior column c with g = ∇ᵤs (input_size): ℓ = w (½|g_x|² + ∂ₜs), a₀ = w (g_x, e'(t)), c_s = 0.
  KOKKOS_INLINE_FUNCTION Scalar interior(std::int64_t c, const Scalar *g, Scalar *a0, Scalar /*s*/, Scalar &cs) const
  {
    Scalar kinetic = 0, dsdt = 0;
    for (int r = 0; r < dim; ++r)
    {
      kinetic += g[r] * g[r];
      a0[r] = w * g[r];
    }
    for (int j = 0; j < input_size - dim; ++j)
    {
      const Scalar de = embed.derivative(j, t(c));
      dsdt += g[dim + j] * de;
      a0[dim + j] = w * de;
    }
    cs = 0;
    return w * (kinetic / 2 + dsdt);
  }

  /// Boundary column c (x ~ q0, then x ~ q1): ℓ = +w₀ s or −w₁ s, c_s = ∂ℓ/∂s.
  KOKKOS_INLINE_FUNCTION Scalar boundary(std::int64_t c, Scalar s, Scalar &cs) const
  {
    cs = c < interior_count + boundary0_count ? w0 : -w1;
    return cs * s;
  }
};

/// After engine.forward and engine.input_gradient: writes the seeds for
/// engine.parameter_gradient and returns this rank's loss parts.
/// \param t [in] normalised times of the interior samples (n_int)
template <class Scalar, class ExecutionSpace>
LossParts plain_seeds(const ExecutionSpace &space, nn::GemmEngine<Scalar, ExecutionSpace> &engine,
                      const Vector<Scalar, ExecutionSpace> &t, const BatchLayout &layout)
{
  Region region("amk::am::plain_seeds");
  const PlainLoss<Scalar, ExecutionSpace> loss(engine.shape(), layout, t);
  const auto g = engine.input_gradient();
  const auto a0 = engine.tangent_seed();
  const auto cs = engine.value_seed();
  const auto s = engine.values();
  LossParts parts;
  Kokkos::parallel_reduce(
      "amk::am::plain_interior", policy(space, layout.interior),
      KOKKOS_LAMBDA(std::int64_t c, double &acc) { acc += double(loss.interior(c, &g(0, c), &a0(0, c), s(c), cs(c))); },
      parts.interior);
  Kokkos::parallel_reduce(
      "amk::am::plain_boundary", Kokkos::RangePolicy<ExecutionSpace>(space, layout.interior, layout.primal()),
      KOKKOS_LAMBDA(std::int64_t c, double &acc) { acc += double(loss.boundary(c, s(c), cs(c))); }, parts.boundary);
  return parts;
}
} // namespace amk::am
