#pragma once
// One data-parallel Action Matching training step, and the state it advances:
//   batch (am/batch.hpp) → engine.gradient (any loss of the family, on either engine)
//   → Σ over ranks (one MPI call on the flat gradient) → Adam (one kernel).
// Every rank applies the same update to the same weights, so weights never diverge.
// The engine comes from nn::make_engine (GemmEngine or FusedEngine behind one interface);
// with --engine auto the trainer times both on its first batch (engine_cache.hpp keeps the
// result per machine and shape).
#include <amk/core/contracts.hpp>
#include <amk/am/batch.hpp>
#include <amk/am/loss.hpp>
#include <amk/data/sources.hpp>
#include <amk/dist/comm.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/nn/make_engine.hpp>
#include <amk/optim/adam.hpp>
#include <amk/train/config.hpp>
#include <amk/train/engine_cache.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace amk::train
{
/// Sums a View over ranks: in place where the MPI library can read its memory (the host's,
/// or a GPU's with GPU-aware MPI), else through `staging`, a host View of the same length
/// allocated once by the caller (no allocation per step).
template <class View, class Staging>
void sum_over_ranks(const dist::Comm &comm, const View &v, const Staging &staging)
{
  if (comm.size() == 1)
    return;
  if (staging.extent(0) == 0)
    comm.sum(v.data(), v.size());
  else
  {
    Kokkos::deep_copy(staging, v);
    comm.sum(staging.data(), staging.size());
    Kokkos::deep_copy(v, staging);
  }
}

/// The host View a sum over ranks of `v` stages through: empty where MPI can read v in place.
template <class View> auto staging_for(const dist::Comm &comm, const View &v)
{
  using Host = Kokkos::View<typename View::non_const_value_type *, Kokkos::HostSpace>;
  constexpr bool host = Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename View::memory_space>::accessible;
  if (host || comm.size() == 1 || dist::Comm::device_aware())
    return Host();
  return Host("amk::staging", v.extent(0));
}

template <class Scalar, class ExecutionSpace = DefaultExec> class Trainer
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::train::Trainer");

public:
  using vector = Vector<Scalar, ExecutionSpace>;
  using Loss = am::ActionLoss<Scalar, ExecutionSpace>;

  Trainer(const ExecutionSpace &space, const TrainConfig &config,
          std::shared_ptr<const data::Source<Scalar, ExecutionSpace>> source, const dist::Comm &comm)
      : m_space(space), m_config(config), m_source(std::move(source)), m_comm(comm),
        m_objective(make_objective(config, m_source->normalisation(), m_source->snapshot_times())),
        m_builder(space, config.network, m_objective, config.batch, config.boundary(), comm.rank(), comm.size(),
                  am::parse_time_sampling(config.time_sampling), config.seed, m_source->window()),
        m_params(zeroed<vector>(space, "amk::Trainer::params", config.network.param_count())),
        m_grad(zeroed<vector>(space, "amk::Trainer::grad", config.network.param_count())),
        m_adam(space, config.network.param_count()), m_staging(staging_for(comm, m_grad))
  {
    require(m_source->dim() == config.network.dim, "train: network dimension does not match the data");
    require(m_source->window().count == 1 || comm.size() % m_source->window().count == 0,
            "train: the data's time windows do not divide the MPI ranks");
    nn::initialize(space, config.network, m_params, config.seed);
    Kokkos::deep_copy(space, m_adam.ema, m_params);
    m_engine = make_engine(config.engine); // auto: a fixed rule until choose_engine() measures
  }

  /// --engine auto: the faster engine for this network, batch, loss and back end, timed on
  /// the first batch (a few calls each, one engine allocated at a time so that peak memory
  /// is one engine's) or read from the cache; the ranks sum their times, so all choose the
  /// same. Collective: every rank calls it, after the set-up has agreed (a rank that fails
  /// here throws, and the program ends the job); a no-op for a given engine.
  void choose_engine()
  {
    require(!m_drawn, "Trainer::choose_engine: call it before the first step");
    const auto capacity = m_builder.capacity(m_config.network.dim);
    if (m_config.engine != "auto" || !nn::fused_fits<Scalar, ExecutionSpace>(m_config.network, capacity.directions))
      return; // the constructor's engine stays: the one given, or GEMM where the fused kernel cannot run
    const std::string path = engine_cache_path();
    const std::string key = engine_cache_key(m_config, capacity, ExecutionSpace::name(),
                                             int(ExecutionSpace().concurrency()), m_comm.size());
    EngineTiming timing;
    double shared[3] = {0, 0, 0}; // the root's cached entry: engine (1 gemm, 2 fused), times
    if (m_comm.root())
      if (const auto cached = cached_engine(path, key))
      {
        shared[0] = cached->engine == "fused" ? 2 : 1;
        shared[1] = cached->gemm_s;
        shared[2] = cached->fused_s;
      }
    m_comm.sum(shared, 3);
    if (shared[0] > 0)
      timing = EngineTiming{shared[0] > 1.5 ? "fused" : "gemm", shared[1], shared[2], true};
    else
    {
      // the constructor's engine first, then the other (one engine allocated at a time)
      const std::string first = m_engine->name(), second = first == "gemm" ? "fused" : "gemm";
      double seconds[2]; // gemm, fused
      seconds[first == "fused"] = time_engine_calls(*m_engine);
      m_engine.reset();
      m_engine = make_engine(second);
      seconds[second == "fused"] = time_engine_calls(*m_engine);
      m_comm.sum(seconds, 2); // every rank decides on the same sums
      timing = EngineTiming{seconds[1] < seconds[0] ? "fused" : "gemm", seconds[0] / m_comm.size(),
                            seconds[1] / m_comm.size(), false};
      if (m_comm.root())
        m_cache_error = cache_engine(path, key, timing);
    }
    if (timing.engine != m_engine->name())
    {
      m_engine.reset();
      m_engine = make_engine(timing.engine);
    }
    m_engine_timing = timing;
    m_engine_note = describe(timing, path, m_cache_error);
  }

  /// One training step; returns the global loss parts of the batch it trained on.
  /// \param draw_batch [in] false: train on the previous step's batch again (benchmarks
  ///                   that, like the PyTorch peer, time the step without the batch draw)
  /// \param stop_requested [in] this rank asks to stop after this step (a signal); the ranks
  ///                   agree in the loss parts' sum, no collective of its own (stop_agreed())
  am::LossParts step(bool draw_batch = true, bool stop_requested = false)
  {
    Region region("amk::Trainer::step");
    require(draw_batch || m_drawn, "Trainer::step: no batch drawn yet");
    m_drawn = true;
    if (draw_batch)
      m_builder.build(m_space, *m_source, *m_engine, m_adam.step);
    am::LossParts parts = m_engine->gradient(m_space, m_params, m_builder.loss(), m_grad);
    m_comm_seconds = 0;
    m_stop_agreed = stop_requested;
    if (m_comm.size() > 1)
    {
      m_space.fence();
      const auto start = std::chrono::steady_clock::now();
      sum_over_ranks(m_comm, m_grad, m_staging);
      double p[3] = {parts.boundary, parts.interior, stop_requested ? 1.0 : 0.0};
      m_comm.sum(p, 3);
      parts.boundary = p[0];
      parts.interior = p[1];
      m_stop_agreed = p[2] > 0;
      m_comm_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (!m_poisoned.empty() && m_poisoned.count(m_adam.step + 1)) // fault injection (tests)
      parts.interior = std::numeric_limits<double>::quiet_NaN();
    m_grad_norm = optim::adam_step(m_space, m_config.adam, m_adam, m_params, m_grad, !std::isfinite(parts.total()));
    m_skipped = !std::isfinite(parts.total()) || !std::isfinite(m_grad_norm);
    return parts;
  }

  std::int64_t completed_steps() const { return m_adam.step; }
  double last_gradient_norm() const { return m_grad_norm; }
  /// The last step's loss or gradient was NaN or Inf: its update was not applied.
  bool last_step_skipped() const { return m_skipped; }
  /// Steps (1-based) whose loss is made NaN: the fault injection of the --on-nan tests
  /// (AMK_FAULT_NAN_STEPS in amk train).
  void poison_steps(std::set<std::int64_t> steps) { m_poisoned = std::move(steps); }
  /// Whether any rank asked the last step to be the last (the same on every rank).
  bool stop_agreed() const { return m_stop_agreed; }
  /// Seconds the last step spent in the sums over ranks (waiting for the slowest rank included).
  double last_communication_seconds() const { return m_comm_seconds; }
  /// Bytes of training data this rank holds (on the device).
  std::size_t data_bytes() const { return m_source->bytes(); }
  const vector &params() const { return m_params; }
  const vector &ema() const { return m_adam.ema; }
  const vector &gradient() const { return m_grad; }
  /// "fused" or "gemm": the engine this trainer runs, and why when --engine was overridden.
  const char *engine_name() const { return m_engine->name(); }
  const std::string &engine_note() const { return m_engine_note; }
  /// --engine auto: both engines' measured (or cached) times; none where one engine was
  /// given or the fused kernel's buffers do not fit.
  const std::optional<EngineTiming> &engine_timing() const { return m_engine_timing; }
  /// The objective in normalised units.
  const am::Objective &objective() const { return m_objective; }

  /// The whole state as a checkpoint (host copies in double).
  io::Checkpoint checkpoint() const
  {
    io::Checkpoint c;
    c.config = to_json(m_config);
    c.objective = am::to_json(m_objective);
    c.step = m_adam.step;
    c.ranks = m_comm.size();
    c.params = host(m_params);
    c.ema = host(m_adam.ema);
    c.adam_m = host(m_adam.m);
    c.adam_v = host(m_adam.v);
    c.normalisation = m_source->normalisation();
    return c;
  }

  /// Continues from a checkpoint of the same network.
  void restore(const io::Checkpoint &c)
  {
    require(std::int64_t(c.params.size()) == m_config.network.param_count(),
            "resume: the checkpoint's network differs from this configuration");
    device(c.params, m_params);
    device(c.ema, m_adam.ema);
    device(c.adam_m, m_adam.m);
    device(c.adam_v, m_adam.v);
    m_adam.step = c.step;
  }

private:
  using EnginePtr = std::unique_ptr<nn::Engine<Scalar, ExecutionSpace, Loss>>;

  EnginePtr make_engine(const std::string &name)
  {
    return nn::make_engine<Scalar, ExecutionSpace, Loss>(m_space, name, m_config.network,
                                                        m_builder.capacity(m_config.network.dim), &m_engine_note);
  }

  /// The fastest of a few gradient calls of `engine` on the next step's batch.
  double time_engine_calls(nn::Engine<Scalar, ExecutionSpace, Loss> &engine)
  {
    m_builder.build(m_space, *m_source, engine, m_adam.step); // the next step's batch (drawn again then)
    double best = std::numeric_limits<double>::infinity(), total = 0;
    for (int call = 0; call < 4 || (call < 12 && total < 0.02); ++call) // the first call warms up
    {
      m_space.fence();
      const auto start = std::chrono::steady_clock::now();
      engine.gradient(m_space, m_params, m_builder.loss(), m_grad);
      m_space.fence();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (call > 0)
        best = std::min(best, s);
      total += s;
    }
    return best;
  }

  static std::vector<double> host(const vector &v)
  {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
    return std::vector<double>(h.data(), h.data() + h.extent(0));
  }
  static void device(const std::vector<double> &src, const vector &dst)
  {
    auto h = Kokkos::create_mirror_view(dst);
    for (std::size_t i = 0; i < src.size(); ++i)
      h(i) = Scalar(src[i]);
    Kokkos::deep_copy(dst, h);
  }

  ExecutionSpace m_space;
  TrainConfig m_config;
  std::shared_ptr<const data::Source<Scalar, ExecutionSpace>> m_source;
  dist::Comm m_comm;
  am::Objective m_objective;
  am::BatchBuilder<Scalar, ExecutionSpace> m_builder;
  std::unique_ptr<nn::Engine<Scalar, ExecutionSpace, Loss>> m_engine;
  std::string m_engine_note, m_cache_error; ///< m_cache_error: why the timing was not kept
  std::optional<EngineTiming> m_engine_timing;
  vector m_params, m_grad;
  optim::AdamState<Scalar, ExecutionSpace> m_adam;
  Kokkos::View<Scalar *, Kokkos::HostSpace> m_staging; ///< the gradient's host copy for MPI (empty: in place)
  double m_grad_norm = 0, m_comm_seconds = 0;
  bool m_skipped = false;
  std::set<std::int64_t> m_poisoned;
  bool m_drawn = false, m_stop_agreed = false;
};

/// Notices an objective that runs away: AM on a path that is a staircase in time (nearest
/// snapshot, sparse snapshots) is unbounded below, and training then drives the gradient
/// norm up by orders of magnitude while the loss falls without end. The guard compares the
/// median gradient norm (before clipping) of the last 100 steps with its median over the
/// 200 steps after warm-up; 30× is far outside a sound run's fluctuation (3–4× measured).
class RunawayGuard
{
public:
  static constexpr double factor = 30;
  explicit RunawayGuard(std::int64_t first_step) : m_first(first_step) {}

  /// True when the run is running away at this step.
  bool running_away(std::int64_t step, double grad_norm)
  {
    if (step <= m_first)
      return false;
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
  double baseline() const { return m_baseline; }
  double level() const { return m_level; }

private:
  static double median(std::vector<double> v)
  {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  }
  std::int64_t m_first;
  std::vector<double> m_early, m_recent;
  double m_baseline = 0, m_level = 0;
};

/// What a finished run reports.
struct RunSummary
{
  std::int64_t steps = 0; ///< completed steps (the total, resumed ones included)
  double loss = 0;        ///< last logged loss
  double wall_s = 0;      ///< this process's training time
  int stop_signal = 0;    ///< SIGTERM or SIGINT when a signal stopped the run early (0: it ran to the end)
  std::int64_t skipped = 0; ///< batches skipped for NaN or Inf (--on-nan skip) in this run
};

/// The `amk train` driver: loads the data (or built-in path), trains for config.steps,
/// logs to stdout and OUT/metrics.jsonl and checkpoints to OUT/checkpoint.h5 (rank 0).
/// SIGTERM or SIGINT on any rank stops every rank at the next step boundary with a
/// checkpoint (a second signal ends the process at once).
/// \param resume [in] continue from OUT/checkpoint.h5 (see resumed_config)
/// \param given  [in] the options set on the command line or in --config (resume only;
///                    none: every option of `config` counts as given)
RunSummary run_training(const TrainConfig &config, const dist::Comm &comm, bool resume, bool quiet = false,
                        const std::optional<std::set<std::string>> &given = std::nullopt);
} // namespace amk::train
