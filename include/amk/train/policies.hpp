#pragma once
// What a training run does when a step goes wrong: the NaN policy (--on-nan) and the runaway
// guard. Both see only numbers every rank shares (the summed loss and gradient norm), so
// every rank decides alike and throws the same CollectiveError.
#include <amk/train/run_spec.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amk::train
{
/// --on-nan: a step whose loss or gradient was NaN or Inf was never applied (the trainer
/// spends the step and updates nothing); stop names the step, skip counts the batches and
/// stops after 100 in a row.
class NanPolicy
{
public:
  NanPolicy(OnNan policy, double lr) : m_policy(policy), m_lr(lr) {}
  /// After each step; `kept` says which checkpoint survives. CollectiveError to stop.
  void after_step(bool skipped, std::int64_t step, double loss, double grad_norm, const std::string &kept);
  /// Batches skipped so far in this run.
  std::int64_t skipped() const { return m_skipped; }

private:
  OnNan m_policy;
  double m_lr;
  std::int64_t m_skipped = 0, m_in_a_row = 0;
};

/// Notices an objective that runs away. Where the objective has a known lower bound (plain AM
/// on the straight coupled path: L ≥ −E, E the path's kinetic energy, Trainer::loss_bound) the
/// rule follows from it: the median loss of the last 100 steps lying below the bound by more
/// than the bound's size and a step's spread cannot be a descent, however large |grad| grows
/// on the way (a descent to a large kinetic energy is legitimate). Elsewhere (a staircase in
/// time, nearest snapshot or sparse snapshots, is unbounded below; the Laplacian and growth
/// terms have no bound here) training that runs away drives the gradient norm up by orders of
/// magnitude: the guard compares the median gradient norm (before clipping) of the last 100
/// steps with its median over the 200 steps after warm-up; 30× is far outside a sound run's
/// fluctuation (3–4× measured).
class RunawayGuard
{
public:
  static constexpr double factor = 30;
  RunawayGuard(std::int64_t first_step, std::optional<double> bound) : m_first(first_step), m_bound(bound) {}

  /// True when the run is running away at this step.
  bool running_away(std::int64_t step, double grad_norm, double loss);
  /// The loss's lower bound the rule uses (none: the gradient-norm rule).
  const std::optional<double> &bound() const { return m_bound; }
  /// The error that ends a run running away at `step`: the cause and the fix for its time mode.
  std::string message(const RunSpec &spec, std::int64_t step, double loss, const std::string &checkpoint) const;

private:
  std::int64_t m_first;
  std::optional<double> m_bound;
  std::vector<double> m_early, m_recent, m_losses;
  double m_baseline = 0, m_level = 0, m_loss_level = 0;
};
} // namespace amk::train
