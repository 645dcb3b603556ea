#include <amk/core/error.hpp>
#include <amk/train/policies.hpp>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace amk::train
{
void NanPolicy::after_step(bool skipped, std::int64_t step, double loss, double grad_norm, const std::string &kept)
{
  if (!skipped)
  {
    m_in_a_row = 0;
    return;
  }
  if (m_policy == OnNan::stop)
    throw CollectiveError(fmt::format("train: NaN or Inf at step {} (loss {}, |grad| {}); the update was not applied "
                                      "and {}; lower --lr (now {}) or raise --warmup, or --on-nan skip to skip such "
                                      "batches",
                                      step, loss, grad_norm, kept, m_lr));
  ++m_skipped;
  if (++m_in_a_row >= 100)
    throw CollectiveError(fmt::format("train: 100 batches in a row up to step {} gave NaN or Inf (all skipped, the "
                                      "parameters left as they were); lower --lr (now {}); {}",
                                      step, m_lr, kept));
}

namespace
{
double median(std::vector<double> v)
{
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}
} // namespace

bool RunawayGuard::running_away(std::int64_t step, double grad_norm, double loss)
{
  if (step <= m_first)
    return false;
  if (m_bound)
  {
    if (!std::isfinite(loss))
      return false; // the NaN policy's case
    m_losses.push_back(loss);
    if (m_losses.size() > 100)
      m_losses.erase(m_losses.begin());
    if (m_losses.size() < 100)
      return false;
    m_loss_level = median(m_losses);
    std::vector<double> deviation;
    for (const double l : m_losses)
      deviation.push_back(std::abs(l - m_loss_level));
    const double spread = 1.4826 * median(deviation); // a step's standard deviation, robustly
    return m_loss_level < *m_bound - std::max(std::abs(*m_bound), spread);
  }
  if (step <= m_first + 200)
  {
    m_early.push_back(grad_norm);
    return false;
  }
  if (m_baseline == 0)
    m_baseline = median(m_early);
  m_recent.push_back(grad_norm);
  if (m_recent.size() > 100)
    m_recent.erase(m_recent.begin());
  m_level = median(m_recent);
  return m_recent.size() == 100 && m_level > factor * m_baseline;
}

std::string RunawayGuard::message(const RunSpec &spec, std::int64_t step, double loss,
                                  const std::string &checkpoint) const
{
  if (m_bound)
    return fmt::format("train: the objective is running away at step {} (median loss {:.4g} over 100 steps, below "
                       "{:.4g}, the least any network can reach on this path: minus its kinetic energy); lower --lr "
                       "(now {}) or check the data; the last checkpoint ({}) is kept",
                       step, m_loss_level, *m_bound, spec.adam.lr, checkpoint);
  const am::TimeMode mode = spec.time_mode();
  const bool staircase = mode == am::TimeMode::nearest || mode == am::TimeMode::quadrature;
  return fmt::format("train: the objective is running away at step {} (|grad| {:.3g}, {:.0f}x its level after "
                     "warm-up; loss {:.4g}); {}; the last checkpoint ({}) is kept",
                     step, m_level, m_level / m_baseline, loss,
                     staircase ? std::string("with --time ") + name_of(mode) +
                                     " the objective is unbounded below between snapshots that barely overlap: use "
                                     "--time coupled (the default for data)"
                               : fmt::format("lower --lr (now {}) or check the data", spec.adam.lr),
                     checkpoint);
}
} // namespace amk::train
