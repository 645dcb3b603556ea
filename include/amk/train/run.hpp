#pragma once
// The `amk train` driver: a whole training run from a run specification.
#include <amk/dist/comm.hpp>
#include <amk/train/run_spec.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace amk::train
{
/// What a finished run reports.
struct RunSummary
{
  std::int64_t steps = 0;   ///< completed steps (the total, resumed ones included)
  double loss = 0;          ///< last logged loss
  double wall_s = 0;        ///< this process's training time
  int stop_signal = 0;      ///< SIGTERM or SIGINT when a signal stopped the run early (0: it ran to the end)
  std::int64_t skipped = 0; ///< batches skipped for NaN or Inf (--on-nan skip) in this run
};

/// Loads the data (or built-in path), trains for spec.steps, logs to stdout and
/// OUT/metrics.jsonl and checkpoints to OUT/checkpoint.h5 (rank 0). SIGTERM or SIGINT on any
/// rank stops every rank at the next step boundary with a checkpoint (a second signal ends
/// the process at once).
/// \param resume [in] continue from OUT/checkpoint.h5 (see resumed_spec)
/// \param given  [in] the options set on the command line or in --config (none: every
///                    option whose value is not the default counts as given)
RunSummary run_training(const RunSpec &spec, const dist::Comm &comm, bool resume, bool quiet = false,
                        const std::optional<std::set<std::string>> &given = std::nullopt);

/// OUT/checkpoint.h5
std::string checkpoint_path(const RunSpec &spec);
} // namespace amk::train
