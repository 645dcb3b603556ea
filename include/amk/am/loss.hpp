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

/// After engine.forward and engine.input_gradient: writes the seeds for
/// engine.parameter_gradient and returns this rank's loss parts.
/// \param t [in] normalised times of the interior samples (n_int)
template <class Scalar, class ExecutionSpace>
LossParts plain_seeds(const ExecutionSpace &space, nn::GemmEngine<Scalar, ExecutionSpace> &engine,
                      const Vector<Scalar, ExecutionSpace> &t, const BatchLayout &layout)
{
  Region region("amk::am::plain_seeds");
  const int d = engine.shape().dim;
  const int n_in = engine.shape().input_size();
  const nn::TimeEmbedding<Scalar> embed{engine.shape().time_features};
  const auto g = engine.input_gradient();
  const auto a0 = engine.tangent_seed();
  const auto cs = engine.value_seed();
  const auto s = engine.values();
  const Scalar w = Scalar(1 / layout.global_interior);
  const Scalar w0 = Scalar(1 / layout.global_boundary0), w1 = Scalar(1 / layout.global_boundary1);
  const int nt = layout.interior, n0 = layout.boundary0;

  LossParts parts;
  // interior: ℓ = w (½|g_x|² + ∂ₜs);  a₀ = w (g_x, e'(t));  c_s = 0
  Kokkos::parallel_reduce(
      "amk::am::plain_interior", policy(space, nt),
      KOKKOS_LAMBDA(std::int64_t c, double &acc) {
        Scalar kinetic = 0, dsdt = 0;
        for (int r = 0; r < d; ++r)
        {
          const Scalar gr = g(r, c);
          kinetic += gr * gr;
          a0(r, c) = w * gr;
        }
        for (int j = 0; j < n_in - d; ++j)
        {
          const Scalar de = embed.derivative(j, t(c));
          dsdt += g(d + j, c) * de;
          a0(d + j, c) = w * de;
        }
        cs(c) = 0;
        acc += double(w * (kinetic / 2 + dsdt));
      },
      parts.interior);
  // boundaries: ℓ = +w₀ s(x,0) or −w₁ s(x,1)
  Kokkos::parallel_reduce(
      "amk::am::plain_boundary", Kokkos::RangePolicy<ExecutionSpace>(space, nt, layout.primal()),
      KOKKOS_LAMBDA(std::int64_t c, double &acc) {
        const Scalar coef = c < nt + n0 ? w0 : -w1;
        cs(c) = coef;
        acc += double(coef * s(c));
      },
      parts.boundary);
  return parts;
}
} // namespace amk::am
