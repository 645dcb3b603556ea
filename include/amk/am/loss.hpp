#pragma once
// The Action Matching family as ONE per-column loss functor for the derivative engines
// (nn/engine.hpp). In normalised units (data/normalisation.hpp) the objective is
//   L(θ) = Σ_value columns ω_c s(x_c, t_c)
//        + Σ_interior ω_c [ ½|∇ₓs|² + ∂ₜs + ½σ̃_t² Δₓs + ½κ s² ] + ν_c s
// where the batch (am/batch.hpp) sets per column:
//   ω_c  interior: 1/B × sample mass × quadrature weight × w(t);  value columns: the signed
//        weight of s (+w(0)/B₀ for x ~ q0, −w(1)/B₁ for x ~ q1, ± differences in time)
//   ν_c  w'(t)/B × mass (the time weighting's term; 0 without one)
//   ½σ̃_t²  entropic AM's diffusion (SDE dX = ∇s dT + σ dW); absent for plain/unbalanced AM
//   κ    unbalanced AM's growth coefficient (mass created at rate κ s per unit of t)
// Plain AM (Neklyudov et al., ICML 2023, eq. 6): σ̃ = 0, κ = 0. Entropic AM: + ½σ̃²Δs,
// whose minimiser's ∇s is the drift of the SDE. Unbalanced AM: + ½κs² with every
// expectation under the unnormalised measure (ω carries the masses); the derivation of its
// form and signs is in tests/cli/test_closed_form.py beside its test (growth_unbalanced).
// With g = ∇ᵤs, u = [x, e(t)] (∂ₜs = Σ_j g_{d+j} e_j'(t)), the seeds are
//   a₀ = ω (gₓ, e'(t)),  c_s = ω κ s + ν,  c_lap = ω ½σ̃².
#include <amk/core/contracts.hpp>
#include <amk/core/types.hpp>
#include <amk/nn/engine.hpp>
#include <amk/nn/mlp.hpp>

namespace amk::am
{
/// This rank's share of the loss terms (the sum over ranks is the batch's loss).
using LossParts = nn::ColumnSums;

template <class Scalar, class ExecutionSpace> struct ActionLoss
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::am::ActionLoss");

  using vector = Vector<Scalar, ExecutionSpace>;

  int dim = 0, input_size = 0;
  nn::TimeEmbedding<Scalar> embed;
  bool time_derivative = true; ///< ∂ₜs in the integrand (off: a difference quadrature replaces it)
  Scalar growth = 0;           ///< κ: the unbalanced term ½κs² (0: mass is conserved)
  vector t;                    ///< normalised time of every column (n_p)
  vector weight;               ///< ω (n_p): interior integrand weight; value columns' signed weight
  vector value_weight;         ///< ν (n_t; empty: none)
  vector diffusion;            ///< ½σ̃_t² (n_t; empty: no curvature term)

  ActionLoss() = default;
  explicit ActionLoss(const nn::MlpShape &shape)
      : dim(shape.dim), input_size(shape.input_size()), embed{shape.time_features}
  {
  }

  /// Interior column c: s, g = ∇ᵤs (input_size), lap = Δₓs (or its estimate).
  KOKKOS_INLINE_FUNCTION Scalar interior(std::int64_t c, Scalar s, const Scalar *g, Scalar lap, Scalar *a0,
                                         Scalar &cs, Scalar &clap) const
  {
    const Scalar w = weight(c);
    Scalar kinetic = 0, dsdt = 0;
    for (int r = 0; r < dim; ++r)
    {
      kinetic += g[r] * g[r];
      a0[r] = w * g[r];
    }
    for (int j = 0; j < input_size - dim; ++j)
    {
      const Scalar de = time_derivative ? embed.derivative(j, t(c)) : Scalar(0);
      dsdt += g[dim + j] * de;
      a0[dim + j] = w * de;
    }
    const Scalar nu = value_weight.extent(0) > 0 ? value_weight(c) : Scalar(0);
    const Scalar half_sigma2 = diffusion.extent(0) > 0 ? diffusion(c) : Scalar(0);
    cs = w * growth * s + nu;
    clap = w * half_sigma2;
    return w * (kinetic / 2 + dsdt + half_sigma2 * lap + growth * s * s / 2) + nu * s;
  }

  /// Value column c: ℓ = ω s.
  KOKKOS_INLINE_FUNCTION Scalar boundary(std::int64_t c, Scalar s, Scalar &cs) const
  {
    cs = weight(c);
    return cs * s;
  }
};
} // namespace amk::am
