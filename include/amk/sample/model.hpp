#pragma once
// A trained action s(x, t) loaded from a checkpoint, evaluated in chunks on the device:
// the value, the velocity ∇ₓs and ∂ₜs at any points, and the ODE integrators that move
// samples along ∇ₓs (Euler, Heun, RK4). All work happens in normalised coordinates
// (data/normalisation.hpp); the callers convert at the edges.
#include <amk/am/loss.hpp>
#include <amk/core/error.hpp>
#include <amk/data/normalisation.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/nn/make_engine.hpp>
#include <amk/nn/mlp.hpp>
#include <memory>
#include <functional>
#include <string>

namespace amk::sample
{
enum class Method
{
  euler,
  heun,
  rk4
};

inline Method parse_method(const std::string &name)
{
  if (name == "euler")
    return Method::euler;
  if (name == "heun")
    return Method::heun;
  if (name == "rk4")
    return Method::rk4;
  throw Error("unknown integration method '" + name + "' (use euler, heun or rk4)");
}

template <class Scalar, class ExecutionSpace = DefaultExec> class ActionModel
{
public:
  using matrix = Matrix<Scalar, ExecutionSpace>;
  using vector = Vector<Scalar, ExecutionSpace>;
  using Engine = nn::Engine<Scalar, ExecutionSpace, am::ActionLoss<Scalar, ExecutionSpace>>;

  /// \param use_ema   [in] evaluate the EMA weights (the default for inference) or the raw ones
  /// \param chunk     [in] points per engine call
  /// \param laplacian [in] also evaluate Δₓs (d more sweeps per point)
  ActionModel(const ExecutionSpace &space, const io::Checkpoint &checkpoint, bool use_ema, int chunk = 8192,
              bool laplacian = false)
      : m_shape(nn::shape_from_json(checkpoint.config.at("network"))), m_norm(checkpoint.normalisation),
        m_params(uninitialized<vector>(space, "amk::ActionModel::params", m_shape.param_count()))
  {
    const auto &w = use_ema ? checkpoint.ema : checkpoint.params;
    require(std::int64_t(w.size()) == m_shape.param_count() && m_norm.shift.size() == std::size_t(m_shape.dim),
            "checkpoint: its parameters or /shift do not match the network in its config");
    m_engine = nn::make_engine<Scalar, ExecutionSpace, am::ActionLoss<Scalar, ExecutionSpace>>(
        space, "auto", m_shape, nn::Capacity{chunk, chunk, laplacian ? m_shape.dim : 0});
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
  /// "gemm" or "fused".
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

  /// Velocity ∇ₓ̃s̃ at columns x̃ (d × n), all at normalised time t.
  void velocity(const ExecutionSpace &space, const matrix &x, Scalar t, const matrix &v)
  {
    const std::int64_t n = x.extent(1);
    if (std::int64_t(m_tfill.extent(0)) < n)
      m_tfill = uninitialized<vector>(space, "amk::ActionModel::tfill", n);
    const auto tv = Kokkos::subview(m_tfill, Kokkos::make_pair(std::int64_t(0), n));
    Kokkos::deep_copy(space, tv, t);
    evaluate(space, x, vector(tv), vector(), v, vector());
  }

  /// Integrates dx̃/dt = ∇ₓ̃s̃ from t_begin to t_end (normalised) in `steps` steps; calls
  /// record(i, t_i, x) after every step i = 0…steps (i = 0: the start).
  /// Not a template on the callback: nvcc forbids extended lambdas in a function template
  /// instantiated with a caller's local (closure) type.
  void integrate(const ExecutionSpace &space, Method method, const matrix &x, Scalar t_begin, Scalar t_end, int steps,
                 const std::function<void(int, Scalar, const matrix &)> &record)
  {
    require(steps >= 1, "sample: --steps must be at least 1");
    const std::int64_t d = x.extent(0), n = x.extent(1);
    auto k1 = uninitialized<matrix>(space, "amk::ActionModel::k1", d, n);
    auto k2 = uninitialized<matrix>(space, "amk::ActionModel::k2", d, n);
    auto k3 = uninitialized<matrix>(space, "amk::ActionModel::k3", d, n);
    auto k4 = uninitialized<matrix>(space, "amk::ActionModel::k4", d, n);
    auto xs = uninitialized<matrix>(space, "amk::ActionModel::stage", d, n);
    const Scalar h = (t_end - t_begin) / Scalar(steps);
    // y = x + a·k, elementwise over the d × n state
    auto axpy = [&](const matrix &y, Scalar a, const matrix &k)
    {
      Kokkos::parallel_for(
          "amk::ActionModel::stage", policy(space, d * n),
          KOKKOS_LAMBDA(std::int64_t i) { y(i % d, i / d) = x(i % d, i / d) + a * k(i % d, i / d); });
    };
    record(0, t_begin, x);
    for (int i = 0; i < steps; ++i)
    {
      const Scalar t = t_begin + h * Scalar(i);
      velocity(space, x, t, k1);
      if (method == Method::euler)
        axpy(x, h, k1);
      else if (method == Method::heun)
      {
        axpy(xs, h, k1);
        velocity(space, xs, t + h, k2);
        Kokkos::parallel_for(
            "amk::ActionModel::heun", policy(space, d * n), KOKKOS_LAMBDA(std::int64_t j) {
              const auto r = j % d, c = j / d;
              x(r, c) += h / 2 * (k1(r, c) + k2(r, c));
            });
      }
      else
      {
        axpy(xs, h / 2, k1);
        velocity(space, xs, t + h / 2, k2);
        axpy(xs, h / 2, k2);
        velocity(space, xs, t + h / 2, k3);
        axpy(xs, h, k3);
        velocity(space, xs, t + h, k4);
        Kokkos::parallel_for(
            "amk::ActionModel::rk4", policy(space, d * n), KOKKOS_LAMBDA(std::int64_t j) {
              const auto r = j % d, c = j / d;
              x(r, c) += h / 6 * (k1(r, c) + 2 * k2(r, c) + 2 * k3(r, c) + k4(r, c));
            });
      }
      record(i + 1, t + h, x);
    }
  }

private:
  nn::MlpShape m_shape;
  data::Normalisation m_norm;
  std::unique_ptr<Engine> m_engine;
  vector m_params, m_tfill, m_value, m_laplacian;
  matrix m_gradient;
};
} // namespace amk::sample
