#pragma once
// What a training run does when a step goes wrong: the NaN policy (--on-nan) and the runaway
// guard. Both see only numbers every rank shares (the summed loss and gradient norm), so
// every rank decides alike and throws the same CollectiveError.
#include <amk/train/run_spec.hpp>
#include <cstdint>
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

/// Notices an objective that runs away: AM on a path that is a staircase in time (nearest
/// snapshot, sparse snapshots) is unbounded below, and training then drives the gradient
/// norm up by orders of magnitude while the loss falls without end. The guard compares the
/// median gradient norm (before clipping) of the last 100 steps with its median over the
/// 200 steps after warm-up; 30× is far outside a sound run's fluctuation (3–4× measured).
class RunawayGuard
{
public:
  static constexpr double factor = 30;
  explicit RunawayGuard(std::int64_t first_step) : m_first(first_step) {}

  /// True when the run is running away at this step.
  bool running_away(std::int64_t step, double grad_norm);
  double baseline() const { return m_baseline; }
  double level() const { return m_level; }
  /// The error that ends a run running away at `step`: the cause and the fix for its time mode.
  std::string message(const RunSpec &spec, std::int64_t step, double loss, const std::string &checkpoint) const;

private:
  std::int64_t m_first;
  std::vector<double> m_early, m_recent;
  double m_baseline = 0, m_level = 0;
};
} // namespace amk::train
