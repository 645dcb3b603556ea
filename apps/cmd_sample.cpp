// amk sample: move samples of one snapshot along the learned dynamics: the velocity ∇ₓs
// (plain AM), the SDE dX = ∇s dT + σ dW (entropic AM), or weighted particles whose log
// weight grows at rate s (unbalanced AM).
#include "choice_option.hpp"
#include "commands.hpp"
#include <amk/core/random.hpp>
#include <amk/dist/comm.hpp>
#include <amk/io/hdf5.hpp>
#include <amk/io/import.hpp>
#include <amk/io/snapshot_file.hpp>
#include <amk/sample/model.hpp>
#include <amk/train/checkpoint.hpp>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

namespace amk::app
{
namespace
{
struct SampleOptions
{
  std::string checkpoint, data, out;
  std::optional<sample::Method> method; ///< auto: rk4, or stochastic Heun for an SDE
  sample::Weights weights = sample::Weights::ema;
  sample::InferenceEngine engine;
  std::int64_t from_snapshot = 0, n = 0;
  double to_time = 0;
  int steps = 100, record_every = 1;
  std::uint64_t seed = 0;
  io::ImportOptions import;
};

template <class Scalar> void run_sample(const SampleOptions &o, const io::Checkpoint &checkpoint)
{
  using Exec = DefaultExec;
  const DefaultExec space;
  const auto data = io::read_data(o.data, import_of_run(o.import, checkpoint.config));
  sample::ActionModel<Scalar> model(space, checkpoint, o.weights == sample::Weights::ema, 8192, false, o.engine);
  const auto &objective = model.objective();
  const bool sde = objective.kind == am::LossKind::entropic, weighted = objective.kind == am::LossKind::unbalanced;
  const auto method = o.method ? *o.method : sde ? sample::Method::stochastic_heun : sample::Method::rk4;
  const auto &norm = model.normalisation();
  const int d = model.shape().dim, rows_state = model.state_rows();
  require(data.dim == d,
          fmt::format("sample: {} has d = {} but the checkpoint was trained with d = {}", o.data, data.dim, d));
  require(o.from_snapshot >= 0 && o.from_snapshot < data.snapshots(),
          fmt::format("sample: --from-snapshot must be in 0…{}", data.snapshots() - 1));
  require(std::isfinite(o.to_time), "sample: --to-time must be a finite number");
  const std::int64_t begin = data.offsets[o.from_snapshot], available = data.offsets[o.from_snapshot + 1] - begin;
  const std::int64_t n = o.n > 0 ? std::min(o.n, available) : available;
  require(o.record_every >= 1, "sample: --record-every must be at least 1");

  // a uniformly random subset of n rows (partial Fisher–Yates from the seed); the whole
  // snapshot in the file's order, so that particle i is the data's row i (its trajectory)
  std::vector<std::int64_t> rows(available);
  std::iota(rows.begin(), rows.end(), begin);
  const RandomKey key = RandomKey(o.seed)(0x5a3b);
  for (std::int64_t i = 0; n < available && i < n; ++i)
    std::swap(rows[i], rows[i + key.index(i, available - i)]);

  // the state: positions (normalised), then for unbalanced AM the log weight, starting from
  // the sample's share of its snapshot's mass: w = N_k m_i / n (Σ w ≈ the snapshot's total)
  auto state = uninitialized<Matrix<Scalar, Exec>>(space, "amk::sample::state", rows_state, n);
  auto sh = Kokkos::create_mirror_view(state);
  const double total = data.total_mass(o.from_snapshot);
  for (std::int64_t c = 0; c < n; ++c)
  {
    for (int r = 0; r < d; ++r)
      sh(r, c) = Scalar(norm.normalised_x(data.x[rows[c] * d + r], std::size_t(r)));
    if (weighted)
    {
      const double m_i = data.mass.empty() ? total / double(available) : data.mass[rows[c]];
      require(m_i > 0, fmt::format("sample: {}: row {} has zero mass; it cannot carry a log weight", o.data, rows[c]));
      sh(d, c) = Scalar(std::log(double(available) * m_i / double(n)));
    }
  }
  Kokkos::deep_copy(space, state, sh);

  const double T0 = data.times[o.from_snapshot];
  std::vector<double> times, out, log_weights; // out: [records, n, d] in physical units; log_weights: [records, n]
  auto record = [&](int i, Scalar t, const Matrix<Scalar, Exec> &S)
  {
    if (i % o.record_every != 0 && i != o.steps)
      return;
    Kokkos::deep_copy(space, sh, S);
    space.fence();
    (void)t; // the physical time in double, not via the Scalar normalised time
    times.push_back(i == o.steps ? o.to_time : T0 + (o.to_time - T0) * double(i) / double(o.steps));
    for (std::int64_t c = 0; c < n; ++c)
    {
      for (int r = 0; r < d; ++r)
        out.push_back(norm.physical_x(double(sh(r, c)), std::size_t(r)));
      if (weighted)
        log_weights.push_back(double(sh(d, c)));
    }
  };
  model.integrate(space, method, state, Scalar(norm.normalised_time(T0)), Scalar(norm.normalised_time(o.to_time)),
                  o.steps, o.seed, record);
  for (double v : out)
    require(std::isfinite(v), "sample: the trajectories left the finite range (NaN/Inf); use more --steps");
  for (double v : log_weights)
    require(std::isfinite(v), "sample: the log weights left the finite range (NaN/Inf); use more --steps");
  io::H5Writer w(o.out);
  w.write_f64("/times", times.data(), {std::int64_t(times.size())});
  w.write_f64("/x", out.data(), {std::int64_t(times.size()), n, d});
  if (weighted)
    w.write_f64("/log_weights", log_weights.data(), {std::int64_t(times.size()), n});
  w.write_string_attr("checkpoint", o.checkpoint);
  w.write_string_attr("method", name_of(method));
  w.write_string_attr("engine", model.engine_name());
  w.write_i64_attr("from_snapshot", o.from_snapshot);
  w.commit();
  fmt::print("amk sample: moved {} samples of snapshot {} (t = {}) to t = {} with {} x {} ({} engine); wrote {}\n", n,
             o.from_snapshot, T0, o.to_time, o.steps, name_of(method), model.engine_name(), o.out);
}
} // namespace

Action add_sample(CLI::App &app)
{
  auto *cmd = app.add_subcommand("sample", "Integrate samples of a snapshot along the learned velocity");
  auto o = std::make_shared<SampleOptions>();
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint written by amk train")->required();
  cmd->add_option("--data", o->data, "Snapshot file (amk HDF5 or .csv) holding the start samples")->required();
  add_import_options(cmd, o->import);
  cmd->add_option("--from-snapshot", o->from_snapshot, "Index of the start snapshot")->capture_default_str();
  cmd->add_option("--to-time", o->to_time, "Physical end time")->required();
  cmd->add_option("--steps", o->steps, "Integration steps")->capture_default_str();
  add_choice(cmd, "--method", o->method,
             "auto (rk4, or stochastic-heun for an entropic-AM checkpoint), euler, heun, rk4 (ODEs), em or "
             "stochastic-heun (SDEs)");
  cmd->add_option("--n", o->n, "Number of samples: a random subset (0: the whole snapshot, in the file's order)")->capture_default_str();
  cmd->add_option("--record-every", o->record_every, "Record the state every k steps")->capture_default_str();
  add_weights(cmd, o->weights);
  cmd->add_option("--seed", o->seed, "Seed of the sample subset and of the SDE noise")->capture_default_str();
  add_inference_engine(cmd, o->engine);
  cmd->add_option("--out", o->out,
                  "Output HDF5 file: /times [M], /x [M, n, d] (and /log_weights [M, n] for unbalanced AM)")
      ->required();
  return [o]()
  {
    if (!dist::Comm::world().root())
      return 0;
    const auto checkpoint = train::load_checkpoint(o->checkpoint);
    train::with_precision(checkpoint, [&](auto scalar) { run_sample<decltype(scalar)>(*o, checkpoint); });
    return 0;
  };
}
} // namespace amk::app
