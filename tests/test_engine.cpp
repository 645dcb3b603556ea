// The derivative engine against central finite differences in double precision
// (DESIGN.md §2): σ', σ'', σ''' of every activation; s, ∇ₓs and ∂ₜs end to end; and
// ∂L/∂θ of the full plain AM loss, checked block by block (each layer's W and b).
#include "fd_check.hpp"
#include <amk/am/loss.hpp>
#include <amk/nn/engine.hpp>
#include <gtest/gtest.h>

namespace
{
using namespace amk;
using Exec = DefaultExec;
using Engine = nn::GemmEngine<double, Exec>;
using Vec = Vector<double, Exec>;

template <class A> void check_activation()
{
  for (double x = -4.5; x <= 4.5; x += 0.37)
  {
    const double d1 = test::central_difference([](double v) { return A::f(v); }, x);
    const double d2 = test::central_difference([](double v) { return A::d1(v); }, x);
    const double d3 = test::central_difference([](double v) { return A::d2(v); }, x);
    EXPECT_NEAR(A::d1(x), d1, 1e-8) << A::name << " σ' at " << x;
    EXPECT_NEAR(A::d2(x), d2, 1e-8) << A::name << " σ'' at " << x;
    EXPECT_NEAR(A::d3(x), d3, 1e-8) << A::name << " σ''' at " << x;
    double f, e1, e2; // the fused evaluation the forward sweep uses
    A::eval(x, f, e1, e2);
    EXPECT_NEAR(f, A::f(x), 1e-14 * (1 + std::abs(x))) << A::name << " eval σ at " << x;
    EXPECT_NEAR(e1, A::d1(x), 1e-14) << A::name << " eval σ' at " << x;
    EXPECT_NEAR(e2, A::d2(x), 1e-14) << A::name << " eval σ'' at " << x;
  }
}

TEST(Engine, FastFloatExpIsWithinAFewUlpAndSaturates)
{
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f)
  {
    const double exact = std::exp(double(x));
    worst = std::max(worst, std::abs(double(math::exp_fast(x)) - exact) / exact);
  }
  EXPECT_LT(worst, 4 * 1.2e-7) << "relative error (float ulp = 1.2e-7)"; // measured ≈ 2 ulp
  EXPECT_TRUE(std::isinf(math::exp_fast(100.0f)));
  EXPECT_EQ(math::exp_fast(-100.0f), 0.0f);
  EXPECT_TRUE(std::isnan(math::exp_fast(std::nanf(""))));
  EXPECT_EQ(math::exp_fast(1.0), std::exp(1.0)); // double: the library exp
}

TEST(Engine, ActivationDerivativesMatchFiniteDifferences)
{
  check_activation<nn::SiLU>();
  check_activation<nn::Tanh>();
  check_activation<nn::Softplus>();
  check_activation<nn::Gelu>();
  EXPECT_NEAR(nn::Softplus::f(800.0), 800.0, 1e-12); // no overflow
}

/// A fixed batch: n_int interior samples at random t, n_b at t = 0 and n_b at t = 1.
struct Problem
{
  nn::MlpShape shape;
  int n_int = 5, n_b = 3;
  Engine engine;
  Vec params, t;
  std::vector<double> x, times; // host copies: x (d × n_p), t (n_p)
  am::BatchLayout layout;

  explicit Problem(const nn::MlpShape &s)
      : shape(s), engine(Exec(), s, 5, 11), params("params", s.param_count()), t("t", 11)
  {
    nn::initialize(Exec(), shape, params, 7);
    // larger weights than the default init so that σ'' and σ''' matter
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), params);
    for (std::size_t i = 0; i < h.extent(0); ++i)
      h(i) *= 2.5;
    Kokkos::deep_copy(params, h);
    layout.interior = n_int;
    layout.boundary0 = layout.boundary1 = n_b;
    layout.global_interior = n_int;
    layout.global_boundary0 = layout.global_boundary1 = n_b;
    const int np = layout.primal();
    RandomKey key(3);
    for (int c = 0; c < np; ++c)
    {
      times.push_back(c < n_int ? key.uniform(c) : (c < n_int + n_b ? 0.0 : 1.0));
      for (int r = 0; r < shape.dim; ++r)
        x.push_back(key(c).normal(r));
    }
  }

  /// Loads x and t into the engine input and runs forward + input gradient.
  void evaluate(const Vec &p)
  {
    const int np = layout.primal(), d = shape.dim;
    engine.set_batch(n_int, np);
    auto th = Kokkos::create_mirror_view(t);
    for (int c = 0; c < np; ++c)
      th(c) = times[c];
    Kokkos::deep_copy(t, th);
    auto u = engine.input();
    auto uh = Kokkos::create_mirror_view(u);
    for (int c = 0; c < np; ++c)
      for (int r = 0; r < d; ++r)
        uh(r, c) = x[c * d + r];
    Kokkos::deep_copy(u, uh);
    nn::embed_times(Exec(), shape, t, u);
    engine.forward(Exec(), p);
    engine.input_gradient(Exec(), p);
  }

  double loss(const Vec &p)
  {
    evaluate(p);
    return am::plain_seeds(Exec(), engine, t, layout).total();
  }

  std::vector<double> host(const Vec &v)
  {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
    return std::vector<double>(h.data(), h.data() + h.extent(0));
  }
};

std::vector<nn::MlpShape> shapes()
{
  std::vector<nn::MlpShape> out;
  for (auto act : {nn::Activation::silu, nn::Activation::tanh, nn::Activation::softplus, nn::Activation::gelu})
    for (auto head : {nn::Head::scalar, nn::Head::quadratic})
    {
      nn::MlpShape s;
      s.dim = 3;
      s.width = 6;
      s.depth = 3;
      s.time_features = head == nn::Head::scalar ? 2 : 0;
      s.activation = act;
      s.head = head;
      out.push_back(s);
    }
  return out;
}

std::string label(const nn::MlpShape &s)
{
  return std::string(nn::to_string(s.activation)) + "/" + nn::to_string(s.head);
}

TEST(Engine, ValueGradientAndTimeDerivativeMatchFiniteDifferences)
{
  for (const auto &shape : shapes())
  {
    Problem p(shape);
    p.evaluate(p.params);
    const int d = shape.dim, n_in = shape.input_size();
    // a real copy: on host backends a mirror would alias the engine's buffer
    Kokkos::View<double **, Kokkos::LayoutLeft, Kokkos::HostSpace> g("g", n_in, p.n_int);
    Kokkos::deep_copy(g, p.engine.input_gradient());
    const nn::TimeEmbedding<double> embed{shape.time_features};
    for (int c = 0; c < p.n_int; ++c)
    {
      const double t0 = p.times[c];
      auto value_at = [&](int r, double v)
      {
        const double keep = r < d ? p.x[c * d + r] : p.times[c];
        (r < d ? p.x[c * d + r] : p.times[c]) = v;
        p.evaluate(p.params);
        auto s = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), p.engine.values());
        (r < d ? p.x[c * d + r] : p.times[c]) = keep;
        return s(c);
      };
      std::vector<double> analytic, numeric;
      for (int r = 0; r < d; ++r) // ∇ₓs
      {
        analytic.push_back(g(r, c));
        numeric.push_back(test::central_difference([&](double v) { return value_at(r, v); }, p.x[c * d + r]));
      }
      double dsdt = 0; // ∂ₜs through the time features
      for (int j = 0; j < n_in - d; ++j)
        dsdt += g(d + j, c) * embed.derivative(j, t0);
      analytic.push_back(dsdt);
      numeric.push_back(test::central_difference([&](double v) { return value_at(d, v); }, t0));
      EXPECT_LT(test::relative_error(analytic, numeric), 1e-6) << label(shape) << " sample " << c;
    }
  }
}

TEST(Engine, LossParameterGradientMatchesFiniteDifferencesPerLayer)
{
  for (const auto &shape : shapes())
  {
    Problem p(shape);
    Vec grad("grad", shape.param_count());
    p.loss(p.params);
    p.engine.parameter_gradient(Exec(), p.params, grad);
    const auto analytic = p.host(grad);
    auto theta = p.host(p.params);
    Vec probe("probe", theta.size());
    auto probe_h = Kokkos::create_mirror_view(probe);
    std::vector<double> numeric(theta.size());
    for (std::size_t i = 0; i < theta.size(); ++i)
    {
      numeric[i] = test::central_difference(
          [&](double v)
          {
            for (std::size_t j = 0; j < theta.size(); ++j)
              probe_h(j) = j == i ? v : theta[j];
            Kokkos::deep_copy(probe, probe_h);
            return p.loss(probe);
          },
          theta[i]);
    }
    for (int k = 0; k < shape.maps(); ++k) // per layer: W_k and b_k blocks
    {
      const auto b = shape.weight_offset(k), e = shape.weight_offset(k + 1);
      std::vector<double> a(analytic.begin() + b, analytic.begin() + e), n(numeric.begin() + b, numeric.begin() + e);
      EXPECT_LT(test::relative_error(a, n), 1e-6) << label(shape) << " layer " << k;
    }
  }
}
} // namespace
