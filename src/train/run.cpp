// The `amk train` driver (train/run.hpp): the set-up (setup.hpp), then a loop that reads
// like a training script; the log, the NaN policy, the runaway guard and the stop signal
// each live in a file of their own.
#include "run_log.hpp"
#include "setup.hpp"
#include "stop_signal.hpp"
#include <amk/core/json.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/train/checkpoint.hpp>
#include <amk/train/options.hpp>
#include <amk/train/policies.hpp>
#include <amk/train/run.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>

namespace amk::train
{
std::string checkpoint_path(const RunSpec &spec) { return (std::filesystem::path(spec.out) / "checkpoint.h5").string(); }

namespace
{
/// AMK_FAULT_NAN_STEPS="5,9": the losses of steps 5 and 9 are made NaN (the --on-nan tests).
std::set<std::int64_t> poisoned_steps()
{
  std::set<std::int64_t> steps;
  if (const char *list = std::getenv("AMK_FAULT_NAN_STEPS"))
  {
    std::istringstream items(list);
    for (std::string item; std::getline(items, item, ',');)
      steps.insert(std::stoll(item));
  }
  return steps;
}

/// The run's checkpoints: written collectively by rank 0 every --checkpoint-every steps, at
/// the end and at a stop; remembers the last one for the error messages.
class Checkpoints
{
public:
  Checkpoints(const RunSpec &spec, const dist::Comm &comm, const io::Checkpoint *resume, nlohmann::json shards)
      : m_spec(spec), m_comm(comm), m_path(checkpoint_path(spec)), m_shards(std::move(shards)),
        m_last(resume ? resume->step : -1)
  {
  }
  bool due(std::int64_t step) const { return step % m_spec.checkpoint_every == 0 || step == m_spec.steps; }
  template <class Trainer> void write(const Trainer &trainer)
  {
    dist::collectively(m_comm,
                       [&]
                       {
                         if (!m_comm.root())
                           return;
                         io::Checkpoint c = trainer.checkpoint();
                         c.shards = m_shards;
                         io::write_checkpoint(m_path, c);
                       });
    m_last = trainer.completed_steps();
  }
  /// Which checkpoint survives an error now.
  std::string kept() const
  {
    return m_last < 0 ? std::string("no checkpoint had been written yet")
                      : fmt::format("the last checkpoint ({}, step {}) is kept", m_path, m_last);
  }
  const std::string &path() const { return m_path; }

private:
  const RunSpec &m_spec;
  dist::Comm m_comm;
  std::string m_path;
  nlohmann::json m_shards;
  std::int64_t m_last;
};

template <class Scalar>
RunSummary run(RunSpec spec, const dist::Comm &comm, const io::Checkpoint *resume, bool quiet,
               const std::set<std::string> *given)
{
  RunLog log(spec, comm.root(), quiet);
  RunSetup<Scalar> setup = set_up<Scalar>(spec, comm, resume, given, log);
  Trainer<Scalar> &trainer = *setup.trainer;
  trainer.choose_engine(); // collective: after the set-up agreed (a failure here ends the job)
  if (resume)
    trainer.restore(*resume);
  trainer.poison_steps(poisoned_steps());
  Checkpoints checkpoints(spec, comm, resume, setup.shards);
  const std::optional<double> bound = trainer.loss_bound(); // collective
  log.start(layout_text(setup.shards, comm), trainer.objective(), setup.coupling_seconds, trainer.engine_name(),
            trainer.engine_note(), bound);
  if (resume)
    log.resuming(resume->step, checkpoints.path(), resume->ranks, comm.size());

  const StopOnSignal signal;
  NanPolicy nan(spec.on_nan, spec.adam.lr);
  RunawayGuard guard(std::max<std::int64_t>(trainer.completed_steps(), spec.adam.warmup), bound);
  RunSummary summary;
  log.begin(trainer.completed_steps());
  while (trainer.completed_steps() < spec.steps)
  {
    const am::LossParts parts = trainer.step(true, signal.received() != 0);
    const std::int64_t step = trainer.completed_steps();
    // every rank sees the same summed loss and gradient norm: they all decide alike
    nan.after_step(trainer.last_step_skipped(), step, parts.total(), trainer.last_gradient_norm(), checkpoints.kept());
    if (guard.running_away(step, trainer.last_gradient_norm(), parts.total()))
      throw CollectiveError(guard.message(spec, step, parts.total(), checkpoints.path()));
    if (!trainer.last_step_skipped())
      summary.loss = parts.total();
    log.step(step, parts, trainer.last_gradient_norm(), trainer.last_communication_seconds(), nan.skipped());
    const bool stop = trainer.stop_agreed(); // every rank stops at the same step
    if (checkpoints.due(step) || stop)
    {
      const auto start = std::chrono::steady_clock::now();
      checkpoints.write(trainer);
      log.add_io(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (stop)
    {
      summary.stop_signal = signal.received() != 0 ? signal.received() : SIGTERM;
      log.stopped(signal.name("a signal to another rank"), step, checkpoints.path());
      break;
    }
  }
  summary.steps = trainer.completed_steps();
  summary.wall_s = log.wall_seconds();
  summary.skipped = nan.skipped();
  if (summary.stop_signal == 0)
    log.done(checkpoints.path(), summary.skipped);
  return summary;
}
} // namespace

RunSummary run_training(const RunSpec &requested, const dist::Comm &comm, bool resume, bool quiet,
                        const std::optional<std::set<std::string>> &given)
{
  RunSpec spec = requested;
  io::Checkpoint restored;
  const std::set<std::string> *named = given ? &*given : nullptr;
  dist::collectively(
      comm,
      [&]
      {
        validate(spec, named, spec.builtin()); // a --data file's dimension is checked once it is read
        if (!resume)
          return;
        const std::string path = checkpoint_path(requested);
        require(std::filesystem::exists(path), "train: --resume but there is no " + path);
        restored = load_checkpoint(path);
        try // the checkpoint's specification, with the options a resumed run may change
        {
          spec = resumed_spec(restored.config, requested, given);
        }
        catch (const Error &e)
        {
          const std::string what = e.what();
          throw Error(what.rfind("train:", 0) == 0 ? what : path + ": " + what); // name the file
        }
        validate(spec, named, spec.builtin());
        require(restored.step < spec.steps,
                fmt::format("train: the checkpoint is already at step {} of --steps {}", restored.step, spec.steps));
      });
  const io::Checkpoint *from = resume ? &restored : nullptr;
  if (spec.dtype == Precision::float64)
    return run<double>(spec, comm, from, quiet, named);
  return run<float>(spec, comm, from, quiet, named);
}
} // namespace amk::train
