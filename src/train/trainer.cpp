#include <amk/core/json.hpp>
#include <amk/io/snapshot_file.hpp>
#include <amk/train/trainer.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <new>
#include <set>
#include <sstream>

namespace amk::train
{
namespace
{
/// This rank's shard of the data (io::read_shard; every rank together) and the whole data
/// set's statistics (one sum over ranks of the partial sums). Errors agreed over ranks.
struct SnapshotShard
{
  data::Shard shard;
  data::Statistics stats;
};

SnapshotShard read_shard(const TrainConfig &config, const dist::Comm &comm)
{
  SnapshotShard s;
  // what a rank can find alone, agreed before the collective open in which it would hang the others
  dist::collectively(comm, [&] { io::check_readable(config.data); });
  io::ShardRequest request;
  request.rank = comm.rank();
  request.ranks = comm.size();
  request.ranks_time = config.ranks_time;
  request.pairs = config.time_mode() == "quadrature" && config.rule == "simpson";
  request.collective = comm.size() > 1;
  dist::collectively(comm, [&] { s.shard = io::read_shard(config.data, request); });
  auto sums = data::partial_sums(s.shard);
  comm.sum(sums.data(), sums.size());
  dist::collectively(comm, [&] { s.stats = data::statistics(s.shard, sums); });
  return s;
}

/// The rank layout and shard map a checkpoint stores: the grid and, per rank, its window,
/// sample slice, rows and bytes held (gathered by one sum over ranks).
nlohmann::json shard_map(const data::Shard &shard, std::size_t bytes, const dist::Comm &comm)
{
  const int P = comm.size(), fields = 4;
  std::vector<double> all(std::size_t(P * fields), 0.0);
  double *mine = &all[std::size_t(comm.rank() * fields)];
  mine[0] = double(shard.window.front().snapshot);
  mine[1] = double(shard.window.back().snapshot);
  mine[2] = double(shard.held_rows());
  mine[3] = double(bytes);
  comm.sum(all.data(), all.size());
  nlohmann::json ranks = nlohmann::json::array();
  for (int r = 0; r < P; ++r)
  {
    const double *f = &all[std::size_t(r * fields)];
    ranks.push_back({{"rank", r},
                     {"snapshots", {std::int64_t(f[0]), std::int64_t(f[1])}},
                     {"sample_slice", {r % shard.grid.sample, shard.grid.sample}},
                     {"rows", std::int64_t(f[2])},
                     {"bytes", std::int64_t(f[3])}});
  }
  return {{"ranks_time", shard.grid.time},
          {"ranks_sample", shard.grid.sample},
          {"samples", shard.offsets.back()},
          {"file_bytes", shard.offsets.back() * shard.dim * (shard.float32_file ? 4 : 8)},
          {"shards", ranks}};
}

/// fixed: a resumed run's normalisation (the network's coordinates), else the data's;
/// coupling_seconds: the time the coupled path's minibatch OT took (0 without one)
template <class Scalar>
std::shared_ptr<const data::Source<Scalar, DefaultExec>> make_source(const TrainConfig &config,
                                                                     const SnapshotShard *snapshots,
                                                                     const data::Normalisation *fixed,
                                                                     double &coupling_seconds)
{
  const bool unbalanced = config.loss == "uam";
  if (!snapshots)
  {
    require(!unbalanced, "train: --loss uam needs masses: a --data file with /mass or /snapshot_mass");
    return std::make_shared<data::GaussianSource<Scalar, DefaultExec>>(
        DefaultExec(), data::GaussianPath::preset(config.network.dim, config.path_t0, config.path_t1));
  }
  require(!unbalanced || snapshots->shard.has_mass(),
          "train: --loss uam needs the data's masses: " + config.data + " has neither /mass nor /snapshot_mass");
  std::shared_ptr<data::SnapshotSource<Scalar, DefaultExec>> source;
  try
  {
    source = std::make_shared<data::SnapshotSource<Scalar, DefaultExec>>(
        DefaultExec(), snapshots->shard, snapshots->stats, config.normalise, fixed, unbalanced);
    if (config.time_mode() == "coupled")
    {
      // straight lines, or for entropic AM Brownian bridges of its σ (σ̃ at each interval's middle)
      const auto t = source->snapshot_times();
      const am::Objective objective = make_objective(config, source->normalisation(), t);
      const bool bridge = config.coupling == "bridge";
      std::vector<double> sigma;
      for (std::size_t k = 0; bridge && k + 1 < t.size(); ++k)
        sigma.push_back(objective.sigma_at((t[k] + t[k + 1]) / 2));
      data::CouplingOptions options;
      options.batch = config.coupling_batch;
      options.epsilon = config.coupling_epsilon;
      const auto start = std::chrono::steady_clock::now();
      source->couple(DefaultExec(), options, sigma, config.seed);
      coupling_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }
  catch (const std::exception &e)
  {
    if (!is_allocation_failure(e))
      throw;
    const auto bytes = double(snapshots->shard.held_rows() * snapshots->shard.dim * std::int64_t(sizeof(Scalar)));
    throw Error(fmt::format("train: this rank's shard of {} ({} rows, {:.0f} MiB in {}{}) does not fit in its "
                            "memory; run on more MPI ranks (each holds about 1/P of the file)",
                            config.data, snapshots->shard.held_rows(), bytes / double(1 << 20), config.dtype,
                            config.time_mode() == "coupled" ? ", and 8 bytes a row for its coupling" : ""));
  }
  return source;
}

/// The first SIGTERM or SIGINT (a scheduler's notice before its wall-clock limit, Ctrl-C)
/// asks for a stop at the next step boundary; a second one ends the process at once.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void request_stop(int signal)
{
  if (g_stop_signal != 0)
  {
    std::signal(signal, SIG_DFL); // both async-signal-safe
    std::raise(signal);
    return;
  }
  g_stop_signal = signal;
}

/// Installs request_stop for SIGTERM and SIGINT for the lifetime of a run.
class StopOnSignal
{
public:
  StopOnSignal()
  {
    g_stop_signal = 0;
    m_term = std::signal(SIGTERM, request_stop);
    m_int = std::signal(SIGINT, request_stop);
  }
  ~StopOnSignal()
  {
    std::signal(SIGTERM, m_term);
    std::signal(SIGINT, m_int);
  }
  StopOnSignal(const StopOnSignal &) = delete;
  StopOnSignal &operator=(const StopOnSignal &) = delete;

private:
  void (*m_term)(int) = SIG_DFL;
  void (*m_int)(int) = SIG_DFL;
};

/// "1h02m", "3m05s", "12s"
std::string duration(double seconds)
{
  const auto s = std::int64_t(std::max(0.0, seconds) + 0.5);
  if (s >= 3600)
    return fmt::format("{}h{:02d}m", s / 3600, int(s / 60 % 60));
  if (s >= 60)
    return fmt::format("{}m{:02d}s", s / 60, int(s % 60));
  return fmt::format("{}s", s);
}

namespace fs = std::filesystem;

std::string checkpoint_path(const TrainConfig &config) { return (fs::path(config.out) / "checkpoint.h5").string(); }

/// Drops the lines logged after `step` (by a run that died after its last checkpoint), so
/// that a resumed run's metrics read as one run.
void truncate_metrics(const fs::path &path, std::int64_t step)
{
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line))
  {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.contains("step") && j["step"].get<std::int64_t>() <= step)
      kept += line + '\n';
  }
  in.close();
  std::ofstream tmp(path.string() + ".tmp", std::ios::trunc);
  tmp << kept;
  tmp.close();
  require(bool(tmp), "train: cannot write " + path.string());
  fs::rename(path.string() + ".tmp", path);
}

/// resume: the checkpoint to continue from (its config already merged into `config`)
template <class Scalar>
RunSummary run(TrainConfig config, const dist::Comm &comm, const io::Checkpoint *resume, bool quiet)
{
  const fs::path out(config.out);
  const std::string checkpoint_path = train::checkpoint_path(config);
  std::shared_ptr<const data::Source<Scalar, DefaultExec>> source;
  std::ofstream metrics;
  double coupling_seconds = 0;
  std::unique_ptr<Trainer<Scalar>> owned; // built inside the agreed set-up: no output if it fails
  std::optional<SnapshotShard> snapshots;
  if (!config.data.empty())
    snapshots = read_shard(config, comm);
  nlohmann::json shards;
  dist::collectively(comm,
                     [&]
                     {
                       source = make_source<Scalar>(config, snapshots ? &*snapshots : nullptr,
                                                    resume ? &resume->normalisation : nullptr, coupling_seconds);
                       if (snapshots)
                         snapshots->shard.release_values(); // on the device now: the host copy goes
                       if (config.path.empty())
                         config.network.dim = source->dim();
                       config.validate();
                       owned = std::make_unique<Trainer<Scalar>>(DefaultExec(), config, source, comm);
                       if (!comm.root())
                         return;
                       fs::create_directories(out);
                       if (resume)
                         truncate_metrics(out / "metrics.jsonl", resume->step);
                       metrics.open(out / "metrics.jsonl", resume ? std::ios::app : std::ios::trunc);
                       require(bool(metrics), "train: cannot write " + (out / "metrics.jsonl").string());
                     });

  Trainer<Scalar> &trainer = *owned;
  trainer.choose_engine(); // collective: after the set-up agreed (a failure here ends the job)
  if (resume)
    trainer.restore(*resume);
  std::string layout = fmt::format("{} rank{}", comm.size(), comm.size() == 1 ? "" : "s");
  if (snapshots)
  {
    shards = shard_map(snapshots->shard, trainer.data_bytes(), comm);
    std::int64_t most = 0;
    for (const auto &r : shards["shards"])
      most = std::max(most, r["bytes"].get<std::int64_t>());
    if (comm.size() > 1)
      layout += fmt::format(" as {} time window{} x {} sample slice{}", shards["ranks_time"].get<int>(),
                            shards["ranks_time"].get<int>() == 1 ? "" : "s", shards["ranks_sample"].get<int>(),
                            shards["ranks_sample"].get<int>() == 1 ? "" : "s");
    layout += fmt::format(", data {:.3g} MiB per rank at most, {:.3g} MiB file", double(most) / double(1 << 20),
                          shards["file_bytes"].get<double>() / double(1 << 20));
  }
  if (comm.root() && !quiet)
  {
    const am::Objective &o = trainer.objective();
    std::string loss = config.loss + ", time " + config.time_mode();
    if (config.time_mode() == "quadrature")
      loss += " (" + config.rule + ")";
    if (config.time_mode() == "coupled")
      loss += fmt::format(" ({}, coupled in {:.1f} s)",
                          config.coupling == "bridge" ? "Brownian bridges" : "straight lines", coupling_seconds);
    if (o.kind == am::LossKind::entropic)
      loss += o.laplacian == am::LaplacianMode::exact
                  ? " (exact Laplacian)"
                  : fmt::format(" (Hutchinson Laplacian, {} {} probes)", o.probes, config.probe_dist);
    fmt::print("amk train: {} steps, batch {} ({}), loss {}, network d={} width={} "
               "depth={} {} ({} parameters), {}, {} engine{}\n",
               config.steps, config.batch, layout, loss, config.network.dim, config.network.width,
               config.network.depth, nn::to_string(config.network.activation), config.network.param_count(),
               config.dtype, trainer.engine_name(),
               trainer.engine_note().empty() ? "" : " (" + trainer.engine_note() + ")");
    if (resume)
      fmt::print("amk train: resuming at step {} from {}{}\n", resume->step, checkpoint_path,
                 resume->ranks == comm.size()
                     ? ""
                     : fmt::format(", written by {} rank{} (the batch is global: the run continues, no longer "
                                   "bitwise equal to an uninterrupted one)",
                                   resume->ranks, resume->ranks == 1 ? "" : "s"));
    std::fflush(stdout); // batch jobs and mpirun redirect stdout: show progress as it happens
  }

  const StopOnSignal stop_on_signal;
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto last_log = start;
  std::int64_t last_log_step = trainer.completed_steps();
  double comm_s = 0, io_s = 0; // since the last log line
  RunawayGuard guard(std::max<std::int64_t>(trainer.completed_steps(), config.adam.warmup));
  RunSummary summary;
  std::int64_t skipped_in_a_row = 0, last_checkpoint_step = resume ? resume->step : -1;
  const auto kept = [&]
  {
    return last_checkpoint_step < 0 ? std::string("no checkpoint had been written yet")
                                    : fmt::format("the last checkpoint ({}, step {}) is kept", checkpoint_path,
                                                  last_checkpoint_step);
  };
  if (const char *steps = std::getenv("AMK_FAULT_NAN_STEPS")) // fault injection: "5,9" poisons steps 5 and 9
  {
    std::set<std::int64_t> poisoned;
    std::istringstream list(steps);
    for (std::string item; std::getline(list, item, ',');)
      poisoned.insert(std::stoll(item));
    trainer.poison_steps(poisoned);
  }
  while (trainer.completed_steps() < config.steps)
  {
    const am::LossParts parts = trainer.step(true, g_stop_signal != 0);
    const std::int64_t step = trainer.completed_steps();
    if (trainer.last_step_skipped()) // every rank sees the same summed loss and norm
    {
      if (config.on_nan == "stop")
        throw CollectiveError(fmt::format(
            "train: NaN or Inf at step {} (loss {}, |grad| {}); the update was not applied and {}; lower --lr (now "
            "{}) or raise --warmup, or --on-nan skip to skip such batches",
            step, parts.total(), trainer.last_gradient_norm(), kept(), config.adam.lr));
      ++summary.skipped;
      if (++skipped_in_a_row >= 100)
        throw CollectiveError(fmt::format("train: 100 batches in a row up to step {} gave NaN or Inf (all skipped, "
                                          "the parameters left as they were); lower --lr (now {}); {}",
                                          step, config.adam.lr, kept()));
    }
    else
      skipped_in_a_row = 0;
    if (guard.running_away(step, trainer.last_gradient_norm())) // every rank sees the same norm
    {
      const std::string mode = config.time_mode();
      throw CollectiveError(fmt::format(
          "train: the objective is running away at step {} (|grad| {:.3g}, {:.0f}x its level after warm-up; loss "
          "{:.4g}); {}; the last checkpoint ({}) is kept",
          step, guard.level(), guard.level() / guard.baseline(), parts.total(),
          mode == "nearest" || mode == "quadrature"
              ? "with --time " + mode +
                    " the objective is unbounded below between snapshots that barely overlap: use --time coupled "
                    "(the default for data)"
              : fmt::format("lower --lr (now {}) or check the data", config.adam.lr),
          checkpoint_path));
    }
    if (!trainer.last_step_skipped())
      summary.loss = parts.total();
    comm_s += trainer.last_communication_seconds();
    const bool log = step % config.log_every == 0 || step == config.steps;
    if (log && comm.root())
    {
      const auto now = clock::now();
      const double wall = std::chrono::duration<double>(now - start).count();
      const double per_step = 1e3 / double(step - last_log_step);
      const double ms = per_step * std::chrono::duration<double>(now - last_log).count();
      const double lr =
          config.adam.lr * (config.adam.warmup > 0 ? std::min(1.0, double(step) / double(config.adam.warmup)) : 1.0);
      nlohmann::json line = {{"step", step},
                             {"loss", parts.total()},
                             {"boundary", parts.boundary},
                             {"interior", parts.interior},
                             {"grad_norm", trainer.last_gradient_norm()},
                             {"lr", lr},
                             {"ms_per_step", ms},
                             {"ms_compute", ms - per_step * (comm_s + io_s)},
                             {"ms_communication", per_step * comm_s},
                             {"ms_io", per_step * io_s},
                             {"wall_s", wall},
                             {"skipped", summary.skipped}};
      metrics << to_text(line) << '\n' << std::flush;
      if (!quiet)
      {
        const double samples_per_s = 1e3 * double(config.batch) / ms;
        fmt::print("step {}/{}: loss {:.6f} (boundary {:.6f}, interior {:.6f}) |grad| {:.3g}  {:.2f} ms/step, "
                   "{:.3g} samples/s, ETA {}\n",
                   step, config.steps, parts.total(), parts.boundary, parts.interior, trainer.last_gradient_norm(), ms,
                   samples_per_s, duration(1e-3 * ms * double(config.steps - step)));
        std::fflush(stdout);
      }
      last_log = now;
      last_log_step = step;
      comm_s = io_s = 0;
    }
    const bool stop = trainer.stop_agreed(); // every rank stops at the same step
    if (step % config.checkpoint_every == 0 || step == config.steps || stop)
    {
      const auto write_start = clock::now();
      dist::collectively(comm,
                         [&]
                         {
                           if (!comm.root())
                             return;
                           io::Checkpoint c = trainer.checkpoint();
                           c.shards = shards;
                           io::write_checkpoint(checkpoint_path, c);
                         });
      last_checkpoint_step = step;
      io_s += std::chrono::duration<double>(clock::now() - write_start).count();
    }
    if (stop)
    {
      summary.stop_signal = g_stop_signal != 0 ? int(g_stop_signal) : SIGTERM;
      if (comm.root() && !quiet)
      {
        fmt::print("amk train: stopped by {} at step {} of {}; wrote {} (continue with --resume)\n",
                   g_stop_signal == SIGINT ? "SIGINT" : g_stop_signal == SIGTERM ? "SIGTERM" : "a signal to another rank",
                   step, config.steps, checkpoint_path);
        std::fflush(stdout);
      }
      break;
    }
  }
  summary.steps = trainer.completed_steps();
  summary.wall_s = std::chrono::duration<double>(clock::now() - start).count();
  if (comm.root() && !quiet && summary.stop_signal == 0)
  {
    fmt::print("amk train: done in {:.1f} s; wrote {}{}\n", summary.wall_s, checkpoint_path,
               summary.skipped ? fmt::format(" ({} batch{} with NaN or Inf skipped)", summary.skipped,
                                             summary.skipped == 1 ? "" : "es")
                               : std::string());
    std::fflush(stdout);
  }
  return summary;
}
} // namespace

RunSummary run_training(const TrainConfig &requested, const dist::Comm &comm, bool resume, bool quiet,
                        const std::optional<std::set<std::string>> &given)
{
  TrainConfig config = requested;
  io::Checkpoint restored;
  dist::collectively(
      comm,
      [&]
      {
        config.validate();
        if (!resume)
          return;
        const std::string path = checkpoint_path(requested);
        require(fs::exists(path), "train: --resume but there is no " + path);
        restored = load_checkpoint(path);
        // the checkpoint's configuration, with the options a resumed run may change
        try
        {
          config = resumed_config(restored.config, requested, given);
        }
        catch (const Error &e)
        {
          const std::string what = e.what();
          throw Error(what.rfind("train:", 0) == 0 ? what : path + ": " + what); // name the file
        }
        config.ranks_time = requested.ranks_time; // a run's layout, not its model
        config.validate();
        require(restored.step < config.steps,
                fmt::format("train: the checkpoint is already at step {} of --steps {}", restored.step, config.steps));
      });
  const io::Checkpoint *from = resume ? &restored : nullptr;
  if (config.dtype == "double")
    return run<double>(config, comm, from, quiet);
  return run<float>(config, comm, from, quiet);
}
} // namespace amk::train
