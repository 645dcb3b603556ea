#pragma once
// A trained action s(x, t) loaded from a checkpoint, evaluated in chunks on the device:
// the value, the velocity ∇ₓs and ∂ₜs at any points, and the ODE integrators that move
// samples along ∇ₓs (Euler, Heun, RK4). All work happens in normalised coordinates
// (data/normalisation.hpp); the callers convert at the edges.
#include <amk/core/error.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/nn/engine.hpp>
#include <amk/train/config.hpp>
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

  /// \param use_ema [in] evaluate the EMA weights (the default for inference) or the raw ones
  ActionModel(const ExecutionSpace &space, const io::Checkpoint &checkpoint, bool use_ema, int chunk = 8192)
      : m_shape(train::shape_from_json(checkpoint.config.at("network"))), m_norm(checkpoint.normalisation),
        m_engine(space, m_shape, chunk, chunk),
        m_params(uninitialized<vector>(space, "amk::ActionModel::params", m_shape.param_count()))
  {
    const auto &w = use_ema ? checkpoint.ema : checkpoint.params;
    auto h = Kokkos::create_mirror_view(m_params);
    for (std::size_t i = 0; i < w.size(); ++i)
      h(i) = Scalar(w[i]);
    Kokkos::deep_copy(space, m_params, h);
    space.fence();
  }

  const nn::MlpShape &shape() const { return m_shape; }
  const data::Normalisation &normalisation() const { return m_norm; }

  /// At columns x̃ (d × n) and normalised times t (n): s̃ (n), ∇ₓ̃s̃ (d × n), ∂ₜs̃ (n).
  /// Any output may be an empty View (not wanted).
  void evaluate(const ExecutionSpace &space, const matrix &x, const vector &t, const vector &s, const matrix &grad,
                const vector &dsdt)
  {
    const std::int64_t n = x.extent(1);
    const int d = m_shape.dim, n_in = m_shape.input_size();
    const nn::TimeEmbedding<Scalar> embed{m_shape.time_features};
    for (std::int64_t begin = 0; begin < n; begin += m_engine.max_primal())
    {
      const std::int64_t end = std::min<std::int64_t>(n, begin + m_engine.max_primal());
      const int m = int(end - begin);
      m_engine.set_batch(m, m);
      const auto u = m_engine.input();
      const auto tc = Kokkos::subview(t, Kokkos::make_pair(begin, end));
      Kokkos::parallel_for(
          "amk::ActionModel::load", policy(space, m), KOKKOS_LAMBDA(std::int64_t c) {
            for (int r = 0; r < d; ++r)
              u(r, c) = x(r, begin + c);
          });
      nn::embed_times(space, m_shape, tc, u);
      m_engine.forward(space, m_params);
      m_engine.input_gradient(space, m_params);
      const auto values = m_engine.values();
      const auto g = m_engine.input_gradient();
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
  nn::GemmEngine<Scalar, ExecutionSpace> m_engine;
  vector m_params, m_tfill;
};
} // namespace amk::sample
