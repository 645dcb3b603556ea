#pragma once
// The training source `amk train` builds for a run specification from snapshots: normalised
// as the spec says and, for the coupled path (--time coupled, the default for data), its
// adjacent snapshots paired by minibatch OT (straight lines, or Brownian bridges of the
// spec's σ for --coupling bridge). For library users who train on snapshots in memory.
#include <amk/am/objective.hpp>
#include <amk/core/kokkos_compat.hpp>
#include <amk/data/snapshot_data.hpp>
#include <amk/data/sources.hpp>
#include <amk/train/run_spec.hpp>
#include <chrono>
#include <memory>
#include <vector>

namespace amk::train
{
/// Couples the source's adjacent snapshots as `spec` asks (its coupling options, and for
/// --coupling bridge the σ̃ of `objective` at each interval's middle); returns the seconds it
/// took. host_threads: the threads its straight chunks run on (0: all of the machine's).
template <class Scalar, class ExecutionSpace>
double couple(const ExecutionSpace &space, data::SnapshotSource<Scalar, ExecutionSpace> &source, const RunSpec &spec,
              const am::Objective &objective, int host_threads = 0)
{
  const auto t = source.snapshot_times();
  std::vector<double> sigma;
  for (std::size_t k = 0; spec.coupling == data::CouplingPath::bridge && k + 1 < t.size(); ++k)
    sigma.push_back(objective.sigma_at((t[k] + t[k + 1]) / 2));
  data::CouplingOptions options;
  options.batch = spec.coupling_batch;
  options.epsilon = spec.coupling_epsilon;
  options.threads = host_threads;
  const Region region("amk::coupling");
  const auto start = std::chrono::steady_clock::now();
  source.couple(space, options, sigma, spec.seed);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The source of snapshots `data` (all of it, on one rank) for `spec`, coupled where the
/// spec's time mode needs it. spec.network.dim must be the data's dimension.
template <class Scalar, class ExecutionSpace = DefaultExec>
std::shared_ptr<data::SnapshotSource<Scalar, ExecutionSpace>> snapshot_source(const ExecutionSpace &space,
                                                                                const RunSpec &spec,
                                                                                const data::SnapshotData &data)
{
  auto source = std::make_shared<data::SnapshotSource<Scalar, ExecutionSpace>>(
      space, data, spec.normalise, nullptr, spec.loss == am::LossKind::unbalanced);
  if (spec.time_mode() == am::TimeMode::coupled)
    couple(space, *source, spec, make_objective(spec, source->normalisation(), source->snapshot_times()));
  return source;
}
} // namespace amk::train
