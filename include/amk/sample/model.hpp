#pragma once
// A trained action s(x, t) loaded from a checkpoint, evaluated in chunks on the device:
// the value, the velocity ∇ₓs, ∂ₜs and Δₓs at any points, and the integrators of the
// dynamics it learned (normalised units, data/normalisation.hpp; callers convert at the
// edges):
//   plain AM       dx = ∇s dt                     Euler, Heun, RK4
//   entropic AM    dx = ∇s dt + σ_t dW            Euler–Maruyama, stochastic Heun
//   unbalanced AM  dx = ∇s dt, d log w = κ s dt   Euler, Heun, RK4 on (x, log w)
// The noise of step i, particle c, coordinate r is a counter-based normal of (seed, i, c, r):
// the same paths on any back end and for any chunking. The network is evaluated through a
// loss-free evaluator (nn/evaluator.hpp) of the engine the run trained with, by default.
#include <amk/core/contracts.hpp>
#include <amk/am/objective.hpp>
#include <amk/core/choice.hpp>
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/data/normalisation.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/nn/engine_registry.hpp>
#include <amk/nn/mlp.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace amk::sample
{
enum class Method
{
  euler,
  heun,
  rk4,
  em,             ///< Euler–Maruyama (SDEs; strong order ½, weak order 1)
  stochastic_heun ///< Heun's predictor–corrector with additive noise (SDEs; weak order 2)
};

inline const std::vector<Named<Method>> &choices(Method)
{
  static const std::vector<Named<Method>> table = {{Method::euler, "euler"},
                                                   {Method::heun, "heun"},
                                                   {Method::rk4, "rk4"},
                                                   {Method::em, "em"},
                                                   {Method::stochastic_heun, "stochastic-heun"}};
  return table;
}

inline bool is_stochastic(Method m) { return m == Method::em || m == Method::stochastic_heun; }

/// Which weights of a checkpoint a model evaluates.
enum class Weights
{
  ema, ///< the EMA of the weights (the default for inference)
  raw  ///< the last step's weights
};
inline const std::vector<Named<Weights>> &choices(Weights)
{
  static const std::vector<Named<Weights>> table = {{Weights::ema, "ema"}, {Weights::raw, "raw"}};
  return table;
}

/// Which engine evaluates a trained model.
struct InferenceEngine
{
  enum class Kind
  {
    trained,   ///< the one the checkpoint's run trained with, where it runs the evaluation (else automatic)
    automatic, ///< the untimed rule (nn::untimed_choice)
    named      ///< `id`
  } kind = Kind::trained;
  nn::EngineId id;
};

template <class Scalar, class ExecutionSpace = DefaultExec> class ActionModel
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::sample::ActionModel");

public:
  using matrix = Matrix<Scalar, ExecutionSpace>;
  using vector = Vector<Scalar, ExecutionSpace>;
  using Evaluator = nn::Evaluator<Scalar, ExecutionSpace>;

  /// \param use_ema   [in] evaluate the EMA weights (the default for inference) or the raw ones
  /// \param chunk     [in] points per engine call
  /// \param laplacian [in] also evaluate Δₓs (d more sweeps per point)
  /// \param engine    [in] which engine evaluates it (a named one that cannot: amk::Error)
  ActionModel(const ExecutionSpace &space, const io::Checkpoint &checkpoint, bool use_ema, int chunk = 8192,
              bool laplacian = false, const InferenceEngine &engine = InferenceEngine())
      : m_shape(nn::shape_from_json(checkpoint.config.at("network"))), m_norm(checkpoint.normalisation),
        m_objective(am::objective_from_json(checkpoint.objective)),
        m_params(uninitialized<vector>(space, "amk::ActionModel::params", m_shape.param_count()))
  {
    const auto &w = use_ema ? checkpoint.ema : checkpoint.params;
    require(std::int64_t(w.size()) == m_shape.param_count() && m_norm.shift.size() == std::size_t(m_shape.dim),
            "checkpoint: its parameters or /shift do not match the network in its config");
    const nn::Capacity capacity{chunk, chunk, laplacian ? m_shape.dim : 0};
    std::optional<nn::EngineId> id; // automatic: the untimed rule
    if (engine.kind == InferenceEngine::Kind::named)
      id = engine.id;
    else if (engine.kind == InferenceEngine::Kind::trained)
      if (const auto trained = find_choice<nn::EngineId>(checkpoint.engine))
        if (nn::unsupported<Scalar, ExecutionSpace>(*trained, m_shape, capacity).empty())
          id = trained;
    m_engine = nn::make_evaluator<Scalar, ExecutionSpace>(space, id, m_shape, capacity);
    m_value = uninitialized<vector>(space, "amk::ActionModel::value", chunk);
    m_gradient = uninitialized<matrix>(space, "amk::ActionModel::gradient", m_shape.input_size(), chunk);
    if (laplacian)
      m_laplacian = uninitialized<vector>(space, "amk::ActionModel::laplacian", chunk);
    auto h = Kokkos::create_mirror_view(m_params);
    for (std::size_t i = 0; i < w.size(); ++i)
      h(i) = Scalar(w[i]);
    Kokkos::deep_copy(space, m_params, h);
    space.fence();
  }

  const nn::MlpShape &shape() const { return m_shape; }
  const data::Normalisation &normalisation() const { return m_norm; }
  /// The objective it was trained with (normalised units): which dynamics it learned.
  const am::Objective &objective() const { return m_objective; }
  /// Unbalanced AM: the per-capita growth rate per unit of physical s, κ/ℓ² (= 1/L²); 0 otherwise.
  double growth_per_action() const { return m_objective.growth / (m_norm.scale * m_norm.scale); }
  /// The evaluating engine's registry name.
  const char *engine_name() const { return m_engine->name(); }

  /// At columns x̃ (d × n) and normalised times t (n): s̃ (n), ∇ₓ̃s̃ (d × n), ∂ₜs̃ (n) and
  /// Δₓ̃s̃ (n; needs laplacian at construction). Any output may be an empty View (not wanted).
  void evaluate(const ExecutionSpace &space, const matrix &x, const vector &t, const vector &s, const matrix &grad,
                const vector &dsdt, const vector &laplacian = vector())
  {
    const std::int64_t n = x.extent(1);
    const int d = m_shape.dim, n_in = m_shape.input_size();
    const int chunk = m_engine->capacity().max_primal;
    const nn::TimeEmbedding<Scalar> embed{m_shape.time_features};
    const bool want_lap = laplacian.extent(0) > 0;
    require(!want_lap || m_laplacian.extent(0) > 0, "ActionModel: built without the Laplacian");
    for (std::int64_t begin = 0; begin < n; begin += chunk)
    {
      const std::int64_t end = std::min<std::int64_t>(n, begin + chunk);
      const int m = int(end - begin);
      m_engine->set_batch(m, m);
      const auto u = m_engine->input();
      const auto tc = Kokkos::subview(t, Kokkos::make_pair(begin, end));
      Kokkos::parallel_for(
          "amk::ActionModel::load", policy(space, m), KOKKOS_LAMBDA(std::int64_t c) {
            for (int r = 0; r < d; ++r)
              u(r, c) = x(r, begin + c);
          });
      nn::embed_times(space, m_shape, tc, u);
      nn::Evaluation<Scalar, ExecutionSpace> out;
      out.value = Kokkos::subview(m_value, Kokkos::make_pair(0, m));
      out.gradient = Kokkos::subview(m_gradient, Kokkos::ALL(), Kokkos::make_pair(0, m));
      if (want_lap)
      {
        const auto v = m_engine->direction_input(); // the axes: Δs = Σ_k e_kᵀ∇²s e_k
        Kokkos::parallel_for(
            "amk::ActionModel::axes", policy(space, std::int64_t(d) * m), KOKKOS_LAMBDA(std::int64_t kc) {
              for (int r = 0; r < n_in; ++r)
                v(r, kc) = r == kc / m ? Scalar(1) : Scalar(0);
            });
        out.curvature = Kokkos::subview(m_laplacian, Kokkos::make_pair(0, m));
      }
      m_engine->evaluate(space, m_params, out);
      const auto values = out.value;
      const auto g = out.gradient;
      const auto lap = out.curvature;
      const bool want_s = s.extent(0) > 0, want_g = grad.extent(1) > 0, want_dt = dsdt.extent(0) > 0;
      Kokkos::parallel_for(
          "amk::ActionModel::store", policy(space, m), KOKKOS_LAMBDA(std::int64_t c) {
            if (want_s)
              s(begin + c) = values(c);
            if (want_g)
              for (int r = 0; r < d; ++r)
                grad(r, begin + c) = g(r, c);
            if (want_dt)
            {
              Scalar acc = 0;
              for (int j = 0; j < n_in - d; ++j)
                acc += g(d + j, c) * embed.derivative(j, tc(c));
              dsdt(begin + c) = acc;
            }
            if (want_lap)
              laplacian(begin + c) = lap(c);
          });
    }
  }

  /// Rows of the integrated state: d, plus one for log w when the model is unbalanced.
  int state_rows() const { return m_shape.dim + (m_objective.kind == am::LossKind::unbalanced ? 1 : 0); }

  /// Integrates the learned dynamics of the state S (state_rows() × n: x̃, then log w for an
  /// unbalanced model) from normalised t_begin to t_end in `steps` steps; calls
  /// record(i, t_i, S) after every step i = 0…steps (i = 0: the start). Stochastic methods
  /// draw their noise from `seed`.
  /// Not a template on the callback: nvcc forbids extended lambdas in a function template
  /// instantiated with a caller's local (closure) type.
  void integrate(const ExecutionSpace &space, Method method, const matrix &S, Scalar t_begin, Scalar t_end, int steps,
                 std::uint64_t seed, const std::function<void(int, Scalar, const matrix &)> &record)
  {
    require(steps >= 1, "sample: --steps must be at least 1");
    require(int(S.extent(0)) == state_rows(), "ActionModel::integrate: the state needs state_rows() rows");
    const bool sde = m_objective.kind == am::LossKind::entropic;
    require(is_stochastic(method) == sde,
            sde ? "sample: the checkpoint learned an SDE (--loss eam): use --method em or stochastic-heun"
                : "sample: --method em and stochastic-heun integrate SDEs; this checkpoint learned an ODE "
                  "(use euler, heun or rk4)");
    const std::int64_t rows = S.extent(0), n = S.extent(1), d = m_shape.dim;
    auto k1 = uninitialized<matrix>(space, "amk::ActionModel::k1", rows, n);
    auto k2 = uninitialized<matrix>(space, "amk::ActionModel::k2", rows, n);
    auto k3 = uninitialized<matrix>(space, "amk::ActionModel::k3", rows, n);
    auto k4 = uninitialized<matrix>(space, "amk::ActionModel::k4", rows, n);
    auto xs = uninitialized<matrix>(space, "amk::ActionModel::stage", rows, n);
    auto noise = sde ? uninitialized<matrix>(space, "amk::ActionModel::noise", d, n) : matrix();
    const Scalar h = (t_end - t_begin) / Scalar(steps);
    // y = S + a·k, elementwise over the state
    auto axpy = [&](const matrix &y, Scalar a, const matrix &k)
    {
      Kokkos::parallel_for(
          "amk::ActionModel::stage", policy(space, rows * n),
          KOKKOS_LAMBDA(std::int64_t i) { y(i % rows, i / rows) = S(i % rows, i / rows) + a * k(i % rows, i / rows); });
    };
    // y += a·noise (the position rows)
    auto add_noise = [&](const matrix &y, Scalar a)
    {
      Kokkos::parallel_for(
          "amk::ActionModel::noise", policy(space, d * n),
          KOKKOS_LAMBDA(std::int64_t i) { y(i % d, i / d) += a * noise(i % d, i / d); });
    };
    const RandomKey noise_key = RandomKey(seed)(0x5de);
    record(0, t_begin, S);
    for (int i = 0; i < steps; ++i)
    {
      const Scalar t = t_begin + h * Scalar(i);
      drift(space, S, t, k1);
      if (sde)
      {
        // ΔW = √|h| ξ; σ at the step's ends (time-dependent additive noise)
        const RandomKey key = noise_key(std::uint64_t(i));
        Kokkos::parallel_for(
            "amk::ActionModel::normals", policy(space, d * n),
            KOKKOS_LAMBDA(std::int64_t j) { noise(j % d, j / d) = Scalar(key.normal(std::uint64_t(j))); });
        const double root_h = std::sqrt(std::abs(double(h)));
        const double s0 = m_objective.sigma_at(double(t)), s1 = m_objective.sigma_at(double(t + h));
        axpy(xs, h, k1);
        add_noise(xs, Scalar(s0 * root_h));
        if (method == Method::em)
          Kokkos::deep_copy(space, S, xs);
        else
        {
          drift(space, xs, t + h, k2);
          Kokkos::parallel_for(
              "amk::ActionModel::heun", policy(space, rows * n), KOKKOS_LAMBDA(std::int64_t j) {
                const auto r = j % rows, c = j / rows;
                S(r, c) += h / 2 * (k1(r, c) + k2(r, c));
              });
          add_noise(S, Scalar((s0 + s1) / 2 * root_h));
        }
      }
      else if (method == Method::euler)
        axpy(S, h, k1);
      else if (method == Method::heun)
      {
        axpy(xs, h, k1);
        drift(space, xs, t + h, k2);
        Kokkos::parallel_for(
            "amk::ActionModel::heun", policy(space, rows * n), KOKKOS_LAMBDA(std::int64_t j) {
              const auto r = j % rows, c = j / rows;
              S(r, c) += h / 2 * (k1(r, c) + k2(r, c));
            });
      }
      else
      {
        axpy(xs, h / 2, k1);
        drift(space, xs, t + h / 2, k2);
        axpy(xs, h / 2, k2);
        drift(space, xs, t + h / 2, k3);
        axpy(xs, h, k3);
        drift(space, xs, t + h, k4);
        Kokkos::parallel_for(
            "amk::ActionModel::rk4", policy(space, rows * n), KOKKOS_LAMBDA(std::int64_t j) {
              const auto r = j % rows, c = j / rows;
              S(r, c) += h / 6 * (k1(r, c) + 2 * k2(r, c) + 2 * k3(r, c) + k4(r, c));
            });
      }
      record(i + 1, t + h, S);
    }
  }

  /// The drift of the state at normalised time t: K = (∇ₓ̃s̃, κ s̃ for log w). (Public: nvcc's
  /// device lambdas may not live in private member functions.)
  void drift(const ExecutionSpace &space, const matrix &S, Scalar t, const matrix &K)
  {
    const std::int64_t n = S.extent(1);
    const int d = m_shape.dim;
    const bool weighted = S.extent(0) > std::size_t(d);
    if (std::int64_t(m_tfill.extent(0)) < n)
    {
      m_tfill = uninitialized<vector>(space, "amk::ActionModel::tfill", n);
      m_x = uninitialized<matrix>(space, "amk::ActionModel::x", d, n);
      m_s = uninitialized<vector>(space, "amk::ActionModel::s", n);
      m_g = uninitialized<matrix>(space, "amk::ActionModel::g", d, n);
    }
    const auto tv = Kokkos::subview(m_tfill, Kokkos::make_pair(std::int64_t(0), n));
    Kokkos::deep_copy(space, tv, t);
    const auto x = Kokkos::subview(m_x, Kokkos::ALL(), Kokkos::make_pair(std::int64_t(0), n));
    const auto g = Kokkos::subview(m_g, Kokkos::ALL(), Kokkos::make_pair(std::int64_t(0), n));
    const auto s = Kokkos::subview(m_s, Kokkos::make_pair(std::int64_t(0), n));
    Kokkos::parallel_for(
        "amk::ActionModel::positions", policy(space, n), KOKKOS_LAMBDA(std::int64_t c) {
          for (int r = 0; r < d; ++r)
            x(r, c) = S(r, c);
        });
    evaluate(space, matrix(x), vector(tv), weighted ? vector(s) : vector(), matrix(g), vector());
    const Scalar kappa = Scalar(m_objective.growth);
    Kokkos::parallel_for(
        "amk::ActionModel::drift", policy(space, n), KOKKOS_LAMBDA(std::int64_t c) {
          for (int r = 0; r < d; ++r)
            K(r, c) = g(r, c);
          if (weighted)
            K(d, c) = kappa * s(c);
        });
  }

private:
  nn::MlpShape m_shape;
  data::Normalisation m_norm;
  am::Objective m_objective;
  std::unique_ptr<Evaluator> m_engine;
  vector m_params, m_tfill, m_value, m_laplacian, m_s;
  matrix m_gradient, m_x, m_g;
};

/// The learned field at points in physical units (data/normalisation.hpp): s, the velocity
/// ∇ₓs and ∂s/∂T.
struct PhysicalField
{
  std::vector<double> s, velocity, ds_dt; ///< n, n × d (row-major), n
};

/// Evaluates `model` at the n points x (n × d, row-major) and physical times t (n).
template <class Scalar, class ExecutionSpace>
PhysicalField field_at(const ExecutionSpace &space, ActionModel<Scalar, ExecutionSpace> &model,
                       const std::vector<double> &x, const std::vector<double> &t)
{
  const auto &norm = model.normalisation();
  const int d = model.shape().dim;
  const std::int64_t n = std::int64_t(t.size());
  auto X = uninitialized<Matrix<Scalar, ExecutionSpace>>(space, "amk::field::x", d, n);
  auto Tn = uninitialized<Vector<Scalar, ExecutionSpace>>(space, "amk::field::t", n);
  auto S = uninitialized<Vector<Scalar, ExecutionSpace>>(space, "amk::field::s", n);
  auto G = uninitialized<Matrix<Scalar, ExecutionSpace>>(space, "amk::field::grad", d, n);
  auto D = uninitialized<Vector<Scalar, ExecutionSpace>>(space, "amk::field::dsdt", n);
  auto Xh = Kokkos::create_mirror_view(X);
  auto Th = Kokkos::create_mirror_view(Tn);
  for (std::int64_t c = 0; c < n; ++c)
  {
    Th(c) = Scalar(norm.normalised_time(t[std::size_t(c)]));
    for (int r = 0; r < d; ++r)
      Xh(r, c) = Scalar(norm.normalised_x(x[std::size_t(c * d + r)], std::size_t(r)));
  }
  Kokkos::deep_copy(space, X, Xh);
  Kokkos::deep_copy(space, Tn, Th);
  model.evaluate(space, X, Tn, S, G, D);
  auto Sh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), S);
  auto Gh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), G);
  auto Dh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), D);
  PhysicalField f;
  f.s.resize(std::size_t(n));
  f.velocity.resize(std::size_t(n * d));
  f.ds_dt.resize(std::size_t(n));
  for (std::int64_t c = 0; c < n; ++c)
  {
    f.s[std::size_t(c)] = norm.action(double(Sh(c)));
    f.ds_dt[std::size_t(c)] = norm.action_rate(double(Dh(c)));
    for (int r = 0; r < d; ++r)
      f.velocity[std::size_t(c * d + r)] = norm.velocity(double(Gh(r, c)));
  }
  return f;
}
} // namespace amk::sample
