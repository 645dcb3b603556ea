#pragma once
// Which member of the Action Matching family a run trains, in normalised units (time in
// [0, 1], space centred and scaled; data/normalisation.hpp): plain AM, entropic AM (an SDE
// with diffusion σ_t: + ½σ_t²Δs) or unbalanced AM (mass created at rate s: + ½κs²), with
// the time weighting w(t) of the reference code, and how the Laplacian is computed.
#include <amk/core/choice.hpp>
#include <amk/core/error.hpp>
#include <amk/core/kokkos_compat.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace amk::am
{
enum class LossKind
{
  plain,
  entropic,
  unbalanced
};

enum class LaplacianMode
{
  exact,     ///< the d axes (d curvature directions per sample)
  hutchinson ///< m random probes ε/√m: E[εᵀ∇²s ε] = Δs
};

enum class ProbeDistribution
{
  rademacher,
  gaussian
};

enum class Weighting
{
  none,  ///< w = 1
  linear ///< w(t) = 1 − t with its w'(t)·s term (the q1 boundary term vanishes)
};

inline const std::vector<Named<LossKind>> &choices(LossKind)
{
  static const std::vector<Named<LossKind>> table = {
      {LossKind::plain, "am"}, {LossKind::entropic, "eam"}, {LossKind::unbalanced, "uam"}};
  return table;
}
inline const std::vector<Named<LaplacianMode>> &choices(LaplacianMode)
{
  static const std::vector<Named<LaplacianMode>> table = {{LaplacianMode::exact, "exact"},
                                                          {LaplacianMode::hutchinson, "hutchinson"}};
  return table;
}
inline const std::vector<Named<ProbeDistribution>> &choices(ProbeDistribution)
{
  static const std::vector<Named<ProbeDistribution>> table = {{ProbeDistribution::rademacher, "rademacher"},
                                                              {ProbeDistribution::gaussian, "gaussian"}};
  return table;
}
inline const std::vector<Named<Weighting>> &choices(Weighting)
{
  static const std::vector<Named<Weighting>> table = {{Weighting::none, "none"}, {Weighting::linear, "linear"}};
  return table;
}

/// How interior times and samples are drawn (README "Time in the loss").
enum class TimeMode
{
  continuous, ///< t ∈ [0, 1] continuous, x ~ q_t exactly (a built-in path)
  nearest,    ///< t continuous, x from the nearest snapshot (a staircase in time)
  coupled,    ///< t continuous, x on the coupled path between adjacent snapshots
  quadrature  ///< t at the snapshot times with quadrature weights
};

enum class QuadratureRule
{
  trapezoid,
  simpson,   ///< composite Simpson: an odd number of equally spaced snapshots
  difference ///< trapezoid weights, ∂ₜs replaced by central differences of s between snapshot times
};

inline const std::vector<Named<TimeMode>> &choices(TimeMode)
{
  static const std::vector<Named<TimeMode>> table = {{TimeMode::coupled, "coupled"},
                                                     {TimeMode::nearest, "nearest"},
                                                     {TimeMode::quadrature, "quadrature"},
                                                     {TimeMode::continuous, "continuous"}};
  return table;
}
inline const std::vector<Named<QuadratureRule>> &choices(QuadratureRule)
{
  static const std::vector<Named<QuadratureRule>> table = {{QuadratureRule::trapezoid, "trapezoid"},
                                                           {QuadratureRule::simpson, "simpson"},
                                                           {QuadratureRule::difference, "difference"}};
  return table;
}

struct Objective
{
  TimeMode time = TimeMode::continuous;
  QuadratureRule rule = QuadratureRule::trapezoid;
  std::vector<double> nodes; ///< quadrature: the normalised snapshot times

  LossKind kind = LossKind::plain;
  /// entropic: σ̃(t), piecewise linear through the knots (sigma_t[i], sigma[i]) in normalised
  /// units, constant beyond the first and last (one knot: constant)
  std::vector<double> sigma_t, sigma;
  LaplacianMode laplacian = LaplacianMode::exact;
  int probes = 1;
  ProbeDistribution probe_distribution = ProbeDistribution::rademacher;
  double growth = 0; ///< unbalanced: κ (mass grows at rate κ s per unit of normalised time)
  Weighting weighting = Weighting::none;

  /// Curvature directions per interior sample the engine needs.
  int directions(int dim) const
  {
    if (kind != LossKind::entropic)
      return 0;
    return laplacian == LaplacianMode::exact ? dim : probes;
  }
  /// σ̃ at normalised time t.
  double sigma_at(double t) const;
};

/// Piecewise-linear interpolation through n knots (x strictly increasing), constant outside
/// (on host and device).
template <class X, class Y> KOKKOS_INLINE_FUNCTION double interpolate(const X &x, const Y &y, int n, double t)
{
  if (n == 0)
    return 0;
  if (t <= x[0])
    return y[0];
  for (int i = 1; i < n; ++i)
    if (t <= x[i])
      return y[i - 1] + (y[i] - y[i - 1]) * (t - x[i - 1]) / (x[i] - x[i - 1]);
  return y[n - 1];
}

inline double Objective::sigma_at(double t) const
{
  return interpolate(sigma_t.data(), sigma.data(), int(sigma.size()), t); // pointers: no host-only call in device code
}

/// What a checkpoint stores of the objective: the dynamics the network learned (normalised
/// units), for the samplers.
inline nlohmann::json to_json(const Objective &o)
{
  return {{"loss", name_of(o.kind)}, {"sigma_t", o.sigma_t}, {"sigma", o.sigma}, {"growth", o.growth}};
}

/// Back from to_json; an empty JSON (checkpoints of amk ≤ 0.1) is plain AM.
inline Objective objective_from_json(const nlohmann::json &j)
{
  Objective o;
  if (j.is_null())
    return o;
  o.kind = parse_choice<LossKind>(j.at("loss").get<std::string>(), "checkpoint: objective loss");
  o.sigma_t = j.at("sigma_t").get<std::vector<double>>();
  o.sigma = j.at("sigma").get<std::vector<double>>();
  o.growth = j.at("growth").get<double>();
  require(o.sigma_t.size() == o.sigma.size() && (o.kind != LossKind::entropic || !o.sigma.empty()),
          "checkpoint: malformed objective (sigma schedule)");
  return o;
}
} // namespace amk::am
