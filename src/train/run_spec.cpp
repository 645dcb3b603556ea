// The objective of a run specification (train/run_spec.hpp).
#include <amk/core/error.hpp>
#include <amk/train/run_spec.hpp>
#include <cmath>
#include <fmt/format.h>

namespace amk::train
{
am::Objective make_objective(const RunSpec &c, const data::Normalisation &norm, const std::vector<double> &snapshot_times)
{
  am::Objective o;
  o.kind = c.loss;
  o.time = c.time_mode();
  o.rule = c.rule;
  if (o.time == am::TimeMode::quadrature)
    o.nodes = snapshot_times;
  o.weighting = c.weight;
  if (o.kind == am::LossKind::entropic)
  {
    const std::size_t n = c.sigma.size(), K = snapshot_times.size();
    if (n == 1)
      o.sigma_t = {0.0};
    else if (n == 2 && K != 2)
      o.sigma_t = {0.0, 1.0};
    else
    {
      require(n == K, K == 0 ? fmt::format("train: --sigma takes one value (constant) or two (linear in time) with "
                                           "a built-in --path, got {}",
                                           n)
                             : fmt::format("train: --sigma takes one value (constant), two (linear in time) or one "
                                           "per snapshot ({}), got {}",
                                           K, n));
      o.sigma_t = snapshot_times;
    }
    for (double s : c.sigma) // dX = ∇s dT + σ dW in physical units is dx̃ = ∇̃s̃ dt + σ̃ dW̃
      o.sigma.push_back(norm.normalised_sigma(s));
    o.laplacian = c.laplacian_mode();
    o.probes = c.probes;
    o.probe_distribution = c.probe_dist;
  }
  if (o.kind == am::LossKind::unbalanced)
  { // ½|∇s|² + ½s²/L² in physical units is ½|∇̃s̃|² + ½(ℓ/L)²s̃² normalised (ℓ: the scale)
    const double L = c.growth_length > 0 ? c.growth_length : 10 * norm.scale;
    o.growth = (norm.scale / L) * (norm.scale / L);
  }
  return o;
}
} // namespace amk::train
