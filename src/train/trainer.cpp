#include <amk/io/snapshot_file.hpp>
#include <amk/train/trainer.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

namespace amk::train
{
namespace
{
template <class Scalar> std::shared_ptr<const data::Source<Scalar, DefaultExec>> make_source(const TrainConfig &config)
{
  if (config.path == "gaussian")
    return std::make_shared<data::GaussianSource<Scalar, DefaultExec>>(
        DefaultExec(), data::GaussianPath::preset(config.network.dim, config.path_t0, config.path_t1));
  return std::make_shared<data::SnapshotSource<Scalar, DefaultExec>>(DefaultExec(), io::read_snapshots(config.data),
                                                                     config.normalise);
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
  std::unique_ptr<Trainer<Scalar>> owned; // built inside the agreed set-up: no output if it fails
  dist::collectively(comm,
                     [&]
                     {
                       source = make_source<Scalar>(config);
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
  if (resume)
    trainer.restore(*resume);
  if (comm.root() && !quiet)
    fmt::print("amk train: {} steps, batch {} ({} ranks), network d={} width={} depth={} {} ({} parameters), {}, "
               "{} engine\n",
               config.steps, config.batch, comm.size(), config.network.dim, config.network.width, config.network.depth,
               nn::to_string(config.network.activation), config.network.param_count(), config.dtype,
               trainer.engine_name());

  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto last_log = start;
  std::int64_t last_log_step = trainer.completed_steps();
  RunSummary summary;
  while (trainer.completed_steps() < config.steps)
  {
    const am::LossParts parts = trainer.step();
    const std::int64_t step = trainer.completed_steps();
    if (!std::isfinite(parts.total()) || !std::isfinite(trainer.last_gradient_norm()))
      throw CollectiveError(fmt::format("train: diverged at step {} (loss {}); lower --lr (now {}) or raise --warmup",
                                        step, parts.total(), config.adam.lr));
    summary.loss = parts.total();
    const bool log = step % config.log_every == 0 || step == config.steps;
    if (log && comm.root())
    {
      const auto now = clock::now();
      const double wall = std::chrono::duration<double>(now - start).count();
      const double ms = 1e3 * std::chrono::duration<double>(now - last_log).count() / double(step - last_log_step);
      const double lr =
          config.adam.lr * (config.adam.warmup > 0 ? std::min(1.0, double(step) / double(config.adam.warmup)) : 1.0);
      nlohmann::json line = {{"step", step},
                             {"loss", parts.total()},
                             {"boundary", parts.boundary},
                             {"interior", parts.interior},
                             {"grad_norm", trainer.last_gradient_norm()},
                             {"lr", lr},
                             {"wall_s", wall}};
      metrics << line.dump() << '\n' << std::flush;
      if (!quiet)
        fmt::print("step {}/{}: loss {:.6f} (boundary {:.6f}, interior {:.6f}) |grad| {:.3g} ({:.2f} ms/step)\n", step,
                   config.steps, parts.total(), parts.boundary, parts.interior, trainer.last_gradient_norm(), ms);
      last_log = now;
      last_log_step = step;
    }
    if (step % config.checkpoint_every == 0 || step == config.steps)
      dist::collectively(comm,
                         [&]
                         {
                           if (comm.root())
                             io::write_checkpoint(checkpoint_path, trainer.checkpoint());
                         });
  }
  summary.steps = trainer.completed_steps();
  summary.wall_s = std::chrono::duration<double>(clock::now() - start).count();
  if (comm.root() && !quiet)
    fmt::print("amk train: done in {:.1f} s; wrote {}\n", summary.wall_s, checkpoint_path);
  return summary;
}
} // namespace

RunSummary run_training(const TrainConfig &requested, const dist::Comm &comm, bool resume, bool quiet)
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
        restored = io::read_checkpoint(path);
        // network, data and optimiser come from the checkpoint; --steps may extend the run
        config = config_from_json(restored.config);
        config.out = requested.out;
        config.steps = requested.steps;
        require(restored.step < config.steps,
                fmt::format("train: the checkpoint is already at step {} of --steps {}", restored.step, config.steps));
      });
  const io::Checkpoint *from = resume ? &restored : nullptr;
  if (config.dtype == "double")
    return run<double>(config, comm, from, quiet);
  return run<float>(config, comm, from, quiet);
}
} // namespace amk::train
