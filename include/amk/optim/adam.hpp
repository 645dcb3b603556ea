#pragma once
// Adam (Kingma & Ba 2015) with linear warm-up, global-norm gradient clipping and an EMA
// of the weights, over the ONE flat parameter View: a norm reduction and a single
// elementwise kernel per step.
#include <amk/core/contracts.hpp>
#include <algorithm>
#include <amk/core/types.hpp>
#include <cmath>

namespace amk::optim
{
struct AdamOptions
{
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  std::int64_t warmup = 100; ///< steps of linear warm-up from lr/warmup to lr
  double clip = 1.0;         ///< global gradient-norm bound (≤ 0: off)
  double ema = 0.999;        ///< EMA decay of the weights, reached after a warm-up (0: EMA = last weights)
};

template <class Scalar, class ExecutionSpace = DefaultExec> struct AdamState
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::optim::AdamState");

  Vector<Scalar, ExecutionSpace> m, v, ema; ///< first, second moments; EMA weights
  std::int64_t step = 0;                    ///< completed steps

  AdamState() = default;
  AdamState(const ExecutionSpace &space, std::int64_t n)
      : m(zeroed<Vector<Scalar, ExecutionSpace>>(space, "amk::Adam::m", n)),
        v(zeroed<Vector<Scalar, ExecutionSpace>>(space, "amk::Adam::v", n)),
        ema(zeroed<Vector<Scalar, ExecutionSpace>>(space, "amk::Adam::ema", n))
  {
  }
};

/// ‖grad‖₂ (global: call after the MPI reduction of grad).
template <class Scalar, class ExecutionSpace>
double global_norm(const ExecutionSpace &space, const Vector<Scalar, ExecutionSpace> &grad)
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::optim::global_norm");
  double sq = 0;
  Kokkos::parallel_reduce(
      "amk::Adam::norm", policy(space, grad.extent(0)),
      KOKKOS_LAMBDA(std::int64_t i, double &acc) { acc += double(grad(i)) * double(grad(i)); }, sq);
  return std::sqrt(sq);
}

/// The EMA decay used at step t (1-based): min(decay, (1 + t)/(10 + t)), the warm-up of the
/// reference code (models/ema.py). A fixed 0.999 from step 1 averages over the first
/// ~1000 networks, so a 3000-step run's EMA is still a slow early network (measured 10 %
/// too slow on a Gaussian path); with the warm-up the EMA covers roughly the last 10 % of
/// a short run and the last 1/(1 − decay) steps of a long one.
inline double ema_decay(double decay, std::int64_t t)
{
  return std::min(decay, (1.0 + double(t)) / (10.0 + double(t)));
}

/// One Adam step on params; returns the gradient norm before clipping. With skip (a NaN or
/// Inf loss) or a non-finite norm the step is spent (the counter advances, so the next batch
/// is a new one) but nothing is updated: parameters, moments and EMA stay as they were.
template <class Scalar, class ExecutionSpace>
double adam_step(const ExecutionSpace &space, const AdamOptions &opt, AdamState<Scalar, ExecutionSpace> &state,
                 const Vector<Scalar, ExecutionSpace> &params, const Vector<Scalar, ExecutionSpace> &grad,
                 bool skip = false)
{
  Region region("amk::Adam::step");
  const double norm = global_norm(space, grad);
  const std::int64_t t = ++state.step;
  if (skip || !std::isfinite(norm)) // a NaN/Inf batch: the step is spent, nothing is updated
    return norm;
  const double warm = opt.warmup > 0 ? std::min(1.0, double(t) / double(opt.warmup)) : 1.0;
  const double clip = (opt.clip > 0 && norm > opt.clip) ? opt.clip / norm : 1.0;
  // bias corrections folded into the step size: lr·√(1−β₂ᵗ)/(1−β₁ᵗ), eps scaled to match
  const double c1 = 1 - std::pow(opt.beta1, double(t)), c2 = 1 - std::pow(opt.beta2, double(t));
  const Scalar lr = Scalar(opt.lr * warm / c1), eps = Scalar(opt.eps), inv_sqrt_c2 = Scalar(1 / std::sqrt(c2));
  const Scalar b1 = Scalar(opt.beta1), b2 = Scalar(opt.beta2), scale = Scalar(clip);
  const Scalar decay = Scalar(ema_decay(opt.ema, t));
  const auto m = state.m, v = state.v, ema = state.ema;
  Kokkos::parallel_for(
      "amk::Adam::update", policy(space, params.extent(0)), KOKKOS_LAMBDA(std::int64_t i) {
        const Scalar g = scale * grad(i);
        const Scalar mi = b1 * m(i) + (1 - b1) * g;     // first moment
        const Scalar vi = b2 * v(i) + (1 - b2) * g * g; // second moment
        m(i) = mi;
        v(i) = vi;
        const Scalar p = params(i) - lr * mi / (math::sqrt(vi) * inv_sqrt_c2 + eps);
        params(i) = p;
        ema(i) = decay * ema(i) + (1 - decay) * p;
      });
  return norm;
}
} // namespace amk::optim
