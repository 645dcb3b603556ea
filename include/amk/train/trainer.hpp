#pragma once
// One data-parallel Action Matching training step, and the state it advances:
//   batch (am/batch.hpp) → engine.gradient (any loss of the family, on any registered
//   engine) → Σ over ranks (one MPI call on the flat gradient) → Adam (one kernel).
// Every rank applies the same update to the same weights, so weights never diverge.
// The engine comes from the registry (nn/engine_registry.hpp): the one the spec names, or
// for auto the untimed rule until choose_engine() times every candidate on the first batch
// (engine_cache.hpp keeps the result per machine and shape).
#include <amk/am/batch.hpp>
#include <amk/am/engines.hpp>
#include <amk/am/loss.hpp>
#include <amk/core/contracts.hpp>
#include <amk/data/sources.hpp>
#include <amk/dist/comm.hpp>
#include <amk/dist/reduce.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/optim/adam.hpp>
#include <amk/train/engine_cache.hpp>
#include <amk/train/options.hpp>
#include <amk/train/run_spec.hpp>
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
template <class Scalar, class ExecutionSpace = DefaultExec> class Trainer
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::train::Trainer");

public:
  using vector = Vector<Scalar, ExecutionSpace>;
  using Loss = am::ActionLoss<Scalar, ExecutionSpace>;

  /// \param objective [in] the spec's objective in the source's units (make_objective),
  ///                  built once by the caller (the coupling of the source uses it too)
  Trainer(const ExecutionSpace &space, const RunSpec &spec, const am::Objective &objective,
          std::shared_ptr<const data::Source<Scalar, ExecutionSpace>> source, const dist::Comm &comm)
      : m_space(space), m_spec(spec), m_source(std::move(source)), m_comm(comm), m_objective(objective),
        m_builder(space, spec.network, m_objective, spec.batch, spec.boundary(), comm.rank(), comm.size(),
                  spec.time_sampling, spec.seed, m_source->window()),
        m_params(zeroed<vector>(space, "amk::Trainer::params", spec.network.param_count())),
        m_grad(zeroed<vector>(space, "amk::Trainer::grad", spec.network.param_count())),
        m_adam(space, spec.network.param_count()), m_staging(dist::staging_for(comm, m_grad))
  {
    require(m_source->dim() == spec.network.dim, "train: network dimension does not match the data");
    require(m_source->window().count == 1 || comm.size() % m_source->window().count == 0,
            "train: the data's time windows do not divide the MPI ranks");
    nn::initialize(space, spec.network, m_params, spec.seed);
    Kokkos::deep_copy(space, m_adam.ema, m_params);
    // auto: the untimed rule until choose_engine() measures
    set_engine(nn::resolve<Scalar, ExecutionSpace>(spec.engine, spec.network, capacity()));
  }

  /// With the objective built here from the source.
  Trainer(const ExecutionSpace &space, const RunSpec &spec,
          std::shared_ptr<const data::Source<Scalar, ExecutionSpace>> source, const dist::Comm &comm)
      : Trainer(space, spec, make_objective(spec, source->normalisation(), source->snapshot_times()), source, comm)
  {
  }

  /// --engine auto: the fastest engine for this network, batch, loss and back end, of every
  /// candidate that fits (nn::candidates), timed on the first batch (a few calls each, one
  /// engine allocated at a time so that peak memory is one engine's) or read from the
  /// cache; the ranks sum their times, so all choose the same. Collective: every rank calls
  /// it, after the set-up has agreed (a rank that fails here throws, and the program ends
  /// the job); a no-op for a given engine or a single candidate.
  void choose_engine()
  {
    require(!m_drawn, "Trainer::choose_engine: call it before the first step");
    const nn::Capacity capacity = this->capacity();
    const auto ids = nn::candidates<Scalar, ExecutionSpace>(m_spec.network, capacity);
    if (m_spec.engine || ids.size() < 2)
      return; // the constructor's engine stays: the one given, or the only one that fits
    const std::string path = engine_cache_path();
    const std::string key =
        engine_cache_key(m_spec, capacity, ExecutionSpace::name(), int(ExecutionSpace().concurrency()), m_comm.size());
    // the root's cached entry, shared: the engine's index + 1, then every engine's seconds
    // (none where it is stale: too close to call, too old or undated)
    std::vector<double> shared(1 + nn::engine_count, 0.0);
    EngineTiming timing;
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (m_comm.root())
      if (const auto cached = cached_engine(path, key); cached && covers(*cached, ids))
      {
        timing.retimed = stale_reason(*cached, now);
        if (timing.retimed.empty())
        {
          shared[0] = cached->engine.index + 1;
          for (const auto &[e, s] : cached->seconds)
            shared[std::size_t(1 + e.index)] = s;
        }
      }
    m_comm.sum(shared.data(), shared.size());
    timing.cached = shared[0] > 0;
    if (!timing.cached)
    {
      // the constructor's engine first, then the others (one engine allocated at a time);
      // where the fastest two are within close_ratio, up to two more rounds, each engine's
      // least time kept (a load only ever slows a call down)
      std::vector<double> mine(1 + nn::engine_count, std::numeric_limits<double>::infinity());
      auto time_as = [&](nn::EngineId id)
      {
        if (id != m_engine_id)
          set_engine(id);
        double &t = mine[std::size_t(1 + id.index)];
        t = std::min(t, time_engine_calls(*m_engine));
      };
      for (timing.rounds = 1;; ++timing.rounds)
      {
        time_as(m_engine_id);
        for (const nn::EngineId id : ids)
          if (id != m_engine_id)
            time_as(id);
        shared.assign(shared.size(), 0.0);
        for (const nn::EngineId id : ids)
          shared[std::size_t(1 + id.index)] = mine[std::size_t(1 + id.index)];
        m_comm.sum(shared.data(), shared.size()); // every rank decides on the same sums
        for (double &s : shared)
          s /= m_comm.size();
        EngineTiming round;
        for (const nn::EngineId id : ids)
          round.seconds.emplace_back(id, shared[std::size_t(1 + id.index)]);
        if (timing.rounds == max_rounds || runner_up_ratio(round) >= close_ratio)
          break;
      }
      timing.measured_at = now;
    }
    for (const nn::EngineId id : ids)
      timing.seconds.emplace_back(id, shared[std::size_t(1 + id.index)]);
    timing.engine = timing.cached ? nn::EngineId{int(shared[0]) - 1} : fastest(timing);
    if (!timing.cached && m_comm.root())
      m_cache_error = cache_engine(path, key, timing);
    if (timing.engine != m_engine_id)
      set_engine(timing.engine);
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
      dist::sum_over_ranks(m_comm, m_grad, m_staging);
      double p[3] = {parts.boundary, parts.interior, stop_requested ? 1.0 : 0.0};
      m_comm.sum(p, 3);
      parts.boundary = p[0];
      parts.interior = p[1];
      m_stop_agreed = p[2] > 0;
      m_comm_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (!m_poisoned.empty() && m_poisoned.count(m_adam.step + 1)) // fault injection (tests)
      parts.interior = std::numeric_limits<double>::quiet_NaN();
    m_grad_norm = optim::adam_step(m_space, m_spec.adam, m_adam, m_params, m_grad, !std::isfinite(parts.total()));
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
  /// The engine this trainer runs (its registry name), and for auto how it was chosen.
  nn::EngineId engine() const { return m_engine_id; }
  const char *engine_name() const { return m_engine->name(); }
  const std::string &engine_note() const { return m_engine_note; }
  /// --engine auto: every candidate's measured (or cached) time; none where one engine was
  /// given or only one fits.
  const std::optional<EngineTiming> &engine_timing() const { return m_engine_timing; }
  /// The objective in normalised units.
  const am::Objective &objective() const { return m_objective; }
  /// The objective's lower bound where one is known (collective: every rank calls it): plain
  /// AM without a time weighting on a path of kinetic energy E (the straight coupled path)
  /// satisfies L(s) = ∫E[½|∇s|² − ∇s·v]dt ≥ −E for every s, so an estimate far below −E is
  /// the estimator exploited, never a descent. None where the objective has no such bound here.
  std::optional<double> loss_bound() const
  {
    auto energy = m_source->path_energy(); // present or not on every rank alike (the spec decides)
    if (!energy || m_objective.kind != am::LossKind::plain || m_objective.weighting != am::Weighting::none)
      return std::nullopt;
    double sum = *energy;
    m_comm.sum(&sum, 1);
    return -sum;
  }
  const RunSpec &spec() const { return m_spec; }

  /// The whole state as a checkpoint (host copies in double).
  io::Checkpoint checkpoint() const
  {
    io::Checkpoint c;
    c.config = to_json(m_spec);
    c.objective = am::to_json(m_objective);
    c.step = m_adam.step;
    c.ranks = m_comm.size();
    c.engine = engine_name();
    c.params = host(m_params);
    c.ema = host(m_adam.ema);
    c.adam_m = host(m_adam.m);
    c.adam_v = host(m_adam.v);
    c.normalisation = m_source->normalisation();
    return c;
  }

  /// Continues from a checkpoint of the same network.
  /// Starts the network at s = net + value (before training; a resumed run restores instead).
  void shift_initial_action(double value)
  {
    nn::shift_output(m_space, m_spec.network, m_params, value);
    Kokkos::deep_copy(m_space, m_adam.ema, m_params);
  }

  void restore(const io::Checkpoint &c)
  {
    require(std::int64_t(c.params.size()) == m_spec.network.param_count(),
            "resume: the checkpoint's network differs from this configuration");
    device(c.params, m_params);
    device(c.ema, m_adam.ema);
    device(c.adam_m, m_adam.m);
    device(c.adam_v, m_adam.v);
    m_adam.step = c.step;
  }

private:
  nn::Capacity capacity() const { return m_builder.capacity(m_spec.network.dim); }

  /// Replaces the engine (the old one is freed first: one engine allocated at a time).
  void set_engine(nn::EngineId id)
  {
    m_engine.reset();
    m_engine = nn::make_engine<Scalar, ExecutionSpace, Loss>(m_space, id, m_spec.network, capacity());
    m_engine_id = id;
  }

  /// Whether a cached timing holds exactly this run's candidates.
  static bool covers(const EngineTiming &t, const std::vector<nn::EngineId> &ids)
  {
    if (t.seconds.size() != ids.size() || std::find(ids.begin(), ids.end(), t.engine) == ids.end())
      return false;
    for (const nn::EngineId id : ids)
      if (t.of(id) <= 0)
        return false;
    return true;
  }
  static nn::EngineId fastest(const EngineTiming &t)
  {
    return std::min_element(t.seconds.begin(), t.seconds.end(),
                            [](const auto &a, const auto &b) { return a.second < b.second; })
        ->first;
  }

  /// The fastest of a few gradient calls of `engine` on the next step's batch.
  double time_engine_calls(am::LossEngine<Scalar, ExecutionSpace> &engine)
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
  RunSpec m_spec;
  std::shared_ptr<const data::Source<Scalar, ExecutionSpace>> m_source;
  dist::Comm m_comm;
  am::Objective m_objective;
  am::BatchBuilder<Scalar, ExecutionSpace> m_builder;
  std::unique_ptr<am::LossEngine<Scalar, ExecutionSpace>> m_engine;
  nn::EngineId m_engine_id;
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
} // namespace amk::train
