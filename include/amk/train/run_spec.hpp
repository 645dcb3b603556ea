#pragma once
// The typed specification of a training run: every choice an enum, every number in the
// data's own units. It is parsed once, at the door, by the option table (train/options.hpp),
// which also writes it into every checkpoint (so that `amk sample`, `amk field` and
// `--resume` rebuild exactly the same network) and checks it; past the parser nothing
// compares a string.
#include <amk/am/objective.hpp>
#include <amk/am/time_sampler.hpp>
#include <amk/core/choice.hpp>
#include <amk/data/coupling.hpp>
#include <amk/data/normalisation.hpp>
#include <amk/nn/engine_registry.hpp>
#include <amk/nn/mlp.hpp>
#include <amk/optim/adam.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amk::train
{
/// The training precision.
enum class Precision
{
  float32,
  float64
};
inline const std::vector<Named<Precision>> &choices(Precision)
{
  static const std::vector<Named<Precision>> table = {{Precision::float32, "float"}, {Precision::float64, "double"}};
  return table;
}

/// A step whose loss or gradient is NaN or Inf.
enum class OnNan
{
  stop, ///< stop the run, naming the step (the last checkpoint is kept)
  skip  ///< skip its batch (no update; counted, and the run stops after 100 in a row)
};
inline const std::vector<Named<OnNan>> &choices(OnNan)
{
  static const std::vector<Named<OnNan>> table = {{OnNan::stop, "stop"}, {OnNan::skip, "skip"}};
  return table;
}

/// What a run learns from when it has no --data file.
enum class BuiltinPath
{
  none,    ///< a --data file
  gaussian ///< the anisotropic Gaussian path (examples/gaussian_path.hpp)
};
inline const std::vector<Named<BuiltinPath>> &choices(BuiltinPath)
{
  static const std::vector<Named<BuiltinPath>> table = {{BuiltinPath::none, ""}, {BuiltinPath::gaussian, "gaussian"}};
  return table;
}

struct RunSpec
{
  // what to learn from: a snapshot file, or a built-in path
  std::string data;                        ///< snapshot file: amk's HDF5 or a table (io/import.hpp)
  std::string time_column;                 ///< a table's time column (empty: the first)
  std::string embedding;                   ///< an AnnData file's /obsm embedding (empty: X_pca, else X)
  int dims = 0;                            ///< a table's coordinates kept (0: all)
  BuiltinPath path = BuiltinPath::none;    ///< a built-in path instead of data
  double path_t0 = 0, path_t1 = 1;         ///< the built-in path's time span
  bool normalise = true;                   ///< centre and scale x (isotropically)

  nn::MlpShape network; ///< network.dim comes from the data

  // the objective (am/objective.hpp), in the data's own units
  am::LossKind loss = am::LossKind::plain;
  std::vector<double> sigma;                ///< eam: σ of dX = ∇s dT + σ dW: one value (constant), two
                                            ///< (linear over the time span) or one per snapshot
  std::optional<am::LaplacianMode> laplacian; ///< eam; none: auto (exact up to d = 16)
  int probes = 1;                           ///< hutchinson: probes per sample
  am::ProbeDistribution probe_dist = am::ProbeDistribution::rademacher;
  am::Weighting weight = am::Weighting::none;
  double growth_length = 0;                 ///< uam: L of ½|∇s|² + ½s²/L² (growth rate s/L²); 0: 10× the data's scale

  // time in the loss (am/batch.hpp, data/coupling.hpp)
  std::optional<am::TimeMode> time;         ///< none: auto (coupled on data, continuous on a path)
  am::QuadratureRule rule = am::QuadratureRule::trapezoid;
  int coupling_batch = 512;                 ///< coupled: samples per minibatch-OT chunk
  double coupling_epsilon = 1e-3;           ///< coupled: the auction's resolution relative to the mean cost
  data::CouplingPath coupling = data::CouplingPath::straight;

  std::int64_t steps = 2000;
  int batch = 1024;       ///< interior samples per step (global, over all ranks)
  int boundary_batch = 0; ///< samples of q0 and of q1 per step (0: same as batch)
  optim::AdamOptions adam;
  am::TimeSampling time_sampling = am::TimeSampling::low_discrepancy;
  Precision dtype = Precision::float32;
  std::optional<nn::EngineId> engine; ///< none: auto (measured, train::Trainer::choose_engine)
  std::uint64_t seed = 0;

  /// MPI rank grid: time windows (0: chosen from the ranks and snapshots, data/shard.hpp);
  /// a run's layout, not its model: not stored in the checkpoint's config
  int ranks_time = 0;

  std::string out; ///< output directory
  int log_every = 100;
  int checkpoint_every = 1000;
  OnNan on_nan = OnNan::stop;

  bool builtin() const { return path != BuiltinPath::none; }
  /// The time mode auto resolves to: continuous on a built-in path, coupled on data.
  am::TimeMode time_mode() const
  {
    return time ? *time : (builtin() ? am::TimeMode::continuous : am::TimeMode::coupled);
  }
  /// The Laplacian auto resolves to: exact up to d = 16, Hutchinson's estimate above.
  am::LaplacianMode laplacian_mode() const
  {
    return laplacian ? *laplacian : (network.dim <= 16 ? am::LaplacianMode::exact : am::LaplacianMode::hutchinson);
  }
  int boundary() const { return boundary_batch > 0 ? boundary_batch : batch; }
};

/// The objective of `spec` in normalised units: σ̃ = σ √span / scale at its knots (the
/// normalised snapshot times for a per-snapshot σ), κ = scale²/L² for unbalanced AM (the
/// physical objective ½|∇s|² + ½s²/L² in normalised coordinates; L = --growth-length, the
/// auto default 10× the data's scale: κ = 0.01), the Laplacian mode.
/// \param snapshot_times [in] normalised snapshot times (empty for a built-in path)
am::Objective make_objective(const RunSpec &spec, const data::Normalisation &norm,
                             const std::vector<double> &snapshot_times);
} // namespace amk::train
