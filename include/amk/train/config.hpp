#pragma once
// The full configuration of a training run. It is stored (as JSON) in every checkpoint,
// so that `amk sample`, `amk field` and `--resume` rebuild exactly the same network.
#include <amk/am/objective.hpp>
#include <amk/data/normalisation.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/nn/mlp.hpp>
#include <amk/optim/adam.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace amk::train
{
struct TrainConfig
{
  // what to learn from: a snapshot file, or a built-in path
  std::string data; ///< HDF5 snapshot file
  std::string path; ///< built-in path instead of data: "gaussian"
  double path_t0 = 0, path_t1 = 1;
  bool normalise = true; ///< centre and scale x (isotropically)

  nn::MlpShape network; ///< network.dim comes from the data

  // the objective (am/objective.hpp), in the data's own units
  std::string loss = "am";          ///< am (plain), eam (entropic) or uam (unbalanced)
  std::vector<double> sigma;        ///< eam: σ of dX = ∇s dT + σ dW: one value (constant), two
                                    ///< (linear over the time span) or one per snapshot
  std::string laplacian = "auto";   ///< eam: exact, hutchinson, or auto (exact up to d = 16)
  int probes = 1;                   ///< hutchinson: probes per sample
  std::string probe_dist = "rademacher"; ///< hutchinson: rademacher or gaussian
  std::string weight = "none";      ///< time weighting: none or linear (w = 1 − t)

  // time in the loss (am/batch.hpp, data/coupling.hpp)
  std::string time = "auto";            ///< auto, coupled, nearest, quadrature or continuous (see README)
  std::string rule = "trapezoid";       ///< quadrature: trapezoid, simpson or difference
  int coupling_batch = 512;             ///< coupled: samples per minibatch-OT chunk
  double coupling_epsilon = 1e-3;       ///< coupled: the auction's resolution relative to the mean cost
  std::string coupling = "straight";    ///< coupled: straight lines, or bridge (Brownian bridges of the eam sigma)

  /// The time mode `time = auto` resolves to: continuous on a built-in path, coupled on data.
  std::string time_mode() const { return time != "auto" ? time : (path.empty() ? "coupled" : "continuous"); }

  std::int64_t steps = 2000;
  int batch = 1024;       ///< interior samples per step (global, over all ranks)
  int boundary_batch = 0; ///< samples of q0 and of q1 per step (0: same as batch)
  optim::AdamOptions adam;
  std::string time_sampling = "low-discrepancy";
  std::string dtype = "float"; ///< float or double
  std::string engine = "auto"; ///< derivative engine: auto, gemm or fused (see Trainer)
  std::uint64_t seed = 0;

  /// MPI rank grid: time windows (0: chosen from the ranks and snapshots, data/shard.hpp);
  /// a run's layout, not its model: not stored in the checkpoint's config
  int ranks_time = 0;

  std::string out; ///< output directory
  int log_every = 100;
  int checkpoint_every = 1000;
  /// A step whose loss or gradient is NaN or Inf: stop (keep the last checkpoint) or skip
  /// the batch (no update; counted, and the run stops after 100 in a row)
  std::string on_nan = "stop";

  int boundary() const { return boundary_batch > 0 ? boundary_batch : batch; }
  /// Throws amk::Error naming the first bad option.
  void validate() const;
};

nlohmann::json to_json(const TrainConfig &config);
TrainConfig config_from_json(const nlohmann::json &j);

/// The objective of `config` in normalised units: σ̃ = σ √span / scale at its knots (the
/// normalised snapshot times for a per-snapshot σ), κ = scale² for unbalanced AM (the
/// physical objective ½|∇s|² + ½s² in normalised coordinates), the Laplacian mode.
/// \param snapshot_times [in] normalised snapshot times (empty for a built-in path)
am::Objective make_objective(const TrainConfig &config, const data::Normalisation &norm,
                             const std::vector<double> &snapshot_times);

/// The options a resumed run may change: the run's length, its logging and checkpoint
/// cadence, the learning rate, and where its files are.
const std::set<std::string> &resumable_options();

/// The configuration a `--resume` continues with: the checkpoint's, with every option in
/// resumable_options() that was given taken from `requested`. An option outside that set
/// that was given with a value other than the checkpoint's is refused with an amk::Error
/// naming it (never silently replaced). `given` holds the option names ("--lr") set on the
/// command line or in --config; without it every option counts as given.
TrainConfig resumed_config(const nlohmann::json &checkpoint, const TrainConfig &requested,
                           const std::optional<std::set<std::string>> &given);

/// Reads a checkpoint (io::read_checkpoint: format, checksum, sizes) and checks what every
/// user of it relies on (sample, field, eval, --resume): a network its parameters fit, a
/// precision, an objective and a normalisation that can be used; an amk::Error naming the
/// file otherwise, so that no later step meets malformed JSON or a division by zero.
io::Checkpoint load_checkpoint(const std::string &path);
} // namespace amk::train
