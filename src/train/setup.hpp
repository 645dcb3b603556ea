#pragma once
// The set-up of a training run (run.cpp): this rank's shard of the data (or the built-in
// path), the objective (built once, for the coupling and the trainer alike), the source, the
// trainer and the run's log; every failure agreed over ranks before anything is written.
#include "run_log.hpp"
#include <amk/examples/gaussian_source.hpp>
#include <amk/data/sources.hpp>
#include <amk/dist/comm.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/train/options.hpp>
#include <amk/train/sources.hpp>
#include <amk/train/trainer.hpp>
#include <chrono>
#include <fmt/format.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

namespace amk::train
{
/// This rank's shard of the data and the whole data set's statistics.
struct SnapshotShard
{
  data::Shard shard;
  data::Statistics stats;
};

/// Reads this rank's shard (io::read_shard; every rank together) and the statistics (one sum
/// over ranks of the partial sums). Errors agreed over ranks.
SnapshotShard read_shard(const RunSpec &spec, const dist::Comm &comm);

/// The rank layout and shard map a checkpoint stores: the grid and, per rank, its window,
/// sample slice, rows and bytes held (gathered by one sum over ranks).
nlohmann::json shard_map(const data::Shard &shard, std::size_t bytes, const dist::Comm &comm);

/// The start line's layout: "3 ranks as 3 time windows x 1 sample slice, data … MiB per rank at most, … MiB file".
std::string layout_text(const nlohmann::json &shards, const dist::Comm &comm);

template <class Scalar> struct RunSetup
{
  std::shared_ptr<data::Source<Scalar, DefaultExec>> source;
  std::unique_ptr<Trainer<Scalar>> trainer;
  nlohmann::json shards;       ///< null on a built-in path
  double coupling_seconds = 0; ///< the coupled path's minibatch OT (0 without one)
};

/// The source of `spec`: the built-in path, or this rank's shard on the device.
/// \param fixed [in] a resumed run's normalisation (the network's coordinates), else the data's
template <class Scalar>
std::shared_ptr<data::Source<Scalar, DefaultExec>> make_source(const RunSpec &spec, const SnapshotShard *snapshots,
                                                               const data::Normalisation *fixed)
{
  const bool unbalanced = spec.loss == am::LossKind::unbalanced;
  if (!snapshots)
  {
    require(!unbalanced, "train: --loss uam needs masses: a --data file with /mass or /snapshot_mass");
    return std::make_shared<examples::GaussianSource<Scalar, DefaultExec>>(
        DefaultExec(), examples::GaussianPath::preset(spec.network.dim, spec.path_t0, spec.path_t1));
  }
  require(!unbalanced || snapshots->shard.has_mass(),
          "train: --loss uam needs the data's masses: " + spec.data + " has neither /mass nor /snapshot_mass");
  return std::make_shared<data::SnapshotSource<Scalar, DefaultExec>>(DefaultExec(), snapshots->shard, snapshots->stats,
                                                                     spec.normalise, fixed, unbalanced);
}

/// Runs f(); an allocation that fails in it is this rank's shard not fitting its memory.
template <class Scalar, class F> void shard_memory(const RunSpec &spec, const SnapshotShard *snapshots, F &&f)
{
  try
  {
    f();
  }
  catch (const std::exception &e)
  {
    if (!snapshots || !is_allocation_failure(e))
      throw;
    const auto bytes =
        double(snapshots->shard.held_rows() * snapshots->shard.dim * std::int64_t(sizeof(Scalar)));
    throw Error(fmt::format("train: this rank's shard of {} ({} rows, {:.0f} MiB in {}{}) does not fit in its "
                            "memory; run on more MPI ranks (each holds about 1/P of the file)",
                            spec.data, snapshots->shard.held_rows(), bytes / double(1 << 20), name_of(spec.dtype),
                            spec.time_mode() == am::TimeMode::coupled ? ", and 24 bytes a pair for its coupling" : ""));
  }
}

/// Unbalanced AM's growth rate is κ s̃ (normalised): a network that starts at s̃ = 0 must
/// first learn the population's level of growth, a large constant when --growth-length is
/// long against the transport. It starts at s̃ = γ̃/κ instead, γ̃ = the data's mean growth
/// rate log(M_last/M_first) per normalised time, where that level is large (|γ̃/κ| > 10;
/// scalar head; none otherwise).
std::optional<double> initial_growth_action(const RunSpec &spec, const am::Objective &objective,
                                            const SnapshotShard *shard, const data::Normalisation &norm);

/// The agreed set-up: the data, the source, the objective (once), the coupling, the trainer;
/// on rank 0 the output directory and the metrics file. spec.network.dim becomes the data's.
template <class Scalar>
RunSetup<Scalar> set_up(RunSpec &spec, const dist::Comm &comm, const io::Checkpoint *resume,
                        const std::set<std::string> *given, RunLog &log)
{
  RunSetup<Scalar> s;
  std::optional<SnapshotShard> snapshots;
  if (!spec.builtin())
    snapshots = read_shard(spec, comm);
  const SnapshotShard *shard = snapshots ? &*snapshots : nullptr;
  dist::collectively(comm,
                     [&]
                     {
                       shard_memory<Scalar>(spec, shard, [&] {
                         s.source = make_source<Scalar>(spec, shard, resume ? &resume->normalisation : nullptr);
                       });
                       if (snapshots)
                         snapshots->shard.release_values(); // on the device now: the host copy goes
                       spec.network.dim = s.source->dim();
                       validate(spec, given); // with the data's dimension known
                       const am::Objective objective =
                           make_objective(spec, s.source->normalisation(), s.source->snapshot_times());
                       if (spec.time_mode() == am::TimeMode::coupled)
                         shard_memory<Scalar>(spec, shard, [&] {
                           s.coupling_seconds =
                               couple(DefaultExec(), static_cast<data::SnapshotSource<Scalar, DefaultExec> &>(*s.source),
                                      spec, objective, host_threads(0, comm.local_size()));
                         });
                       s.trainer = std::make_unique<Trainer<Scalar>>(DefaultExec(), spec, objective, s.source, comm);
                       if (const auto level = initial_growth_action(spec, objective, shard, s.source->normalisation()))
                         s.trainer->shift_initial_action(*level);
                       if (comm.root())
                         log.open(resume ? resume->step : -1);
                     });
  if (snapshots)
    s.shards = shard_map(snapshots->shard, s.trainer->data_bytes(), comm);
  return s;
}
} // namespace amk::train
