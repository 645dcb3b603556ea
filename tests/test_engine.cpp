// The derivative engines against central finite differences in double precision
// (DESIGN.md §2), through the ONE engine interface, for every loss of the family:
//   σ', σ'', σ''' of every activation;
//   s, ∇ₓs, ∂ₜs and the Laplacian Δₓs of the network (evaluate);
//   ∂L/∂θ of plain, entropic (exact Laplacian and fixed random probes), unbalanced and
//   time-weighted AM, layer by layer, per activation and head, on both engines;
//   the Hutchinson estimate's mean over many probes against the exact Laplacian.
// The fused engine against the GEMM engine at larger sizes is in test_fused_engine.cpp.
// (The fused engine here runs blocks of 4 samples in 2 slots: partial blocks and the slot sum.)
#include "backend.hpp"
#include "fd_check.hpp"
#include <amk/examples/gaussian_source.hpp>
#include <amk/am/batch.hpp>
#include <amk/am/loss.hpp>
#include <amk/nn/fused_engine.hpp>
#include <amk/nn/gemm_engine.hpp>
#include <gtest/gtest.h>
#include <memory>

namespace
{
using namespace amk;
using Exec = amk::test::Exec;
using Loss = am::ActionLoss<double, Exec>;
using Engine = nn::Engine<double, Exec, Loss>;
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
  // far beyond float's exponent range (a diverged network; the fuzz harness found the
  // conversion of such an n to int undefined, and on x86 e^(1e10) came out 0)
  EXPECT_TRUE(std::isinf(math::exp_fast(1e10f)));
  EXPECT_EQ(math::exp_fast(-1e10f), 0.0f);
  EXPECT_EQ(math::exp_fast(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_TRUE(std::isinf(math::exp_fast(std::numeric_limits<float>::infinity())));
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

/// The losses the family tests run: which terms, and which curvature directions.
enum class Variant
{
  plain,
  entropic_exact,  ///< + ½σ²Δs, directions = the d axes
  entropic_probes, ///< + ½σ² εᵀ∇²s ε, 3 fixed Gaussian probes (the estimate is differentiated exactly)
  unbalanced,      ///< + ½κs², columns weighted like masses
  weighted         ///< w(t) = 1 − t and its w'(t)·s term
};

const char *name(Variant v)
{
  switch (v)
  {
  case Variant::plain:
    return "plain";
  case Variant::entropic_exact:
    return "entropic/exact";
  case Variant::entropic_probes:
    return "entropic/probes";
  case Variant::unbalanced:
    return "unbalanced";
  case Variant::weighted:
    return "weighted";
  }
  return "?";
}

int directions(Variant v, int d) { return v == Variant::entropic_exact ? d : v == Variant::entropic_probes ? 3 : 0; }

/// A fixed batch of n_int interior columns at random t and n_b + n_b value columns at
/// t = 0 and 1, with the loss functor's per-column weights set for `variant`.
struct Problem
{
  nn::MlpShape shape;
  Variant variant;
  int n_int = 5, n_b = 3, m = 0;
  std::vector<double> x, times, dirs; // host: x (d × n_p), t (n_p), directions (input × m·n_int)
  Loss loss;

  Problem(const nn::MlpShape &s, Variant v) : shape(s), variant(v), m(directions(v, s.dim)), loss(s)
  {
    const int np = n_int + 2 * n_b, d = s.dim;
    RandomKey key(3);
    for (int c = 0; c < np; ++c)
    {
      times.push_back(c < n_int ? key.uniform(c) : (c < n_int + n_b ? 0.0 : 1.0));
      for (int r = 0; r < d; ++r)
        x.push_back(key(c).normal(r));
    }
    for (int kc = 0; kc < m * n_int; ++kc)
      for (int r = 0; r < s.input_size(); ++r)
        dirs.push_back(r >= d ? 0.0
                       : v == Variant::entropic_exact ? (r == kc / n_int ? 1.0 : 0.0)
                                                      : key(1000 + kc).normal(r));
    auto view = [&](const char *label, int n, auto value)
    {
      Vec w(std::string(label), n);
      auto h = Kokkos::create_mirror_view(w);
      for (int c = 0; c < n; ++c)
        h(c) = value(c);
      Kokkos::deep_copy(w, h);
      return w;
    };
    const bool weighted = v == Variant::weighted, unbalanced = v == Variant::unbalanced;
    loss.t = view("t", np, [&](int c) { return times[c]; });
    loss.weight = view("weight", np,
                       [&](int c)
                       {
                         const double mass = unbalanced ? 0.5 + key(77).uniform(c) : 1.0;
                         const double w = weighted ? 1 - times[c] : 1.0;
                         return c < n_int ? w * mass / n_int : (c < n_int + n_b ? 1.0 : -1.0) * w * mass / n_b;
                       });
    if (weighted)
      loss.value_weight = view("value_weight", n_int, [&](int) { return -1.0 / n_int; });
    if (m > 0)
      loss.diffusion = view("diffusion", n_int, [&](int c) { return 0.3 + 0.5 * key(91).uniform(c); });
    if (unbalanced)
      loss.growth = 0.7;
  }

  int primal() const { return n_int + 2 * n_b; }

  /// Loads the batch into the engine.
  void load(Engine &engine, int interior) const
  {
    const int np = primal(), d = shape.dim;
    engine.set_batch(interior, np);
    Vec t("t", np);
    auto th = Kokkos::create_mirror_view(t);
    for (int c = 0; c < np; ++c)
      th(c) = times[c];
    Kokkos::deep_copy(t, th);
    const auto u = engine.input();
    auto uh = Kokkos::create_mirror_view(u);
    for (int c = 0; c < np; ++c)
      for (int r = 0; r < d; ++r)
        uh(r, c) = x[c * d + r];
    Kokkos::deep_copy(u, uh);
    nn::embed_times(Exec(), shape, t, u);
    if (m > 0 && interior == n_int)
    {
      const auto v = engine.direction_input();
      auto vh = Kokkos::create_mirror_view(v);
      for (int kc = 0; kc < m * n_int; ++kc)
        for (int r = 0; r < shape.input_size(); ++r)
          vh(r, kc) = dirs[kc * shape.input_size() + r];
      Kokkos::deep_copy(v, vh);
    }
  }

  double loss_total(Engine &engine, const Vec &params, const Vec &grad)
  {
    load(engine, n_int);
    return engine.gradient(Exec(), params, loss, grad).total();
  }
};

std::unique_ptr<Engine> make(const std::string &which, const nn::MlpShape &shape, int n_int, int np, int m)
{
  const nn::Capacity capacity{n_int, np, m};
  if (which == "fused")
    return std::make_unique<nn::FusedEngine<double, Exec, Loss>>(Exec(), shape, capacity, 4, 2);
  return std::make_unique<nn::GemmEngine<double, Exec, Loss>>(Exec(), shape, capacity);
}


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
  return std::string(name_of(s.activation)) + "/" + name_of(s.head);
}

/// Parameters larger than the default init, so that σ'' and σ''' matter.
Vec parameters(const nn::MlpShape &shape)
{
  Vec params("params", shape.param_count());
  nn::initialize(Exec(), shape, params, 7);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), params);
  for (std::size_t i = 0; i < h.extent(0); ++i)
    h(i) *= 2.5;
  Kokkos::deep_copy(params, h);
  return params;
}

std::vector<double> host(const Vec &v)
{
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

/// s, ∇ᵤs (input × n) and Δₓs at the problem's columns, all interior.
struct Values
{
  std::vector<double> s, g, lap;
};

Values evaluate(Engine &engine, Problem &p, const Vec &params)
{
  const int n = p.primal();
  p.load(engine, n);
  const bool curvature = engine.directions() > 0;
  if (curvature) // the axes, for every column
  {
    const auto v = engine.direction_input();
    Kokkos::deep_copy(v, 0.0);
    auto vh = Kokkos::create_mirror_view(v);
    Kokkos::deep_copy(vh, v);
    for (int k = 0; k < p.shape.dim; ++k)
      for (int c = 0; c < n; ++c)
        vh(k, k * n + c) = 1;
    Kokkos::deep_copy(v, vh);
  }
  nn::Evaluation<double, Exec> out;
  out.value = Vec("s", n);
  out.gradient = Matrix<double, Exec>("g", p.shape.input_size(), n);
  if (curvature)
    out.curvature = Vec("lap", n);
  engine.evaluate(Exec(), params, out);
  Values r;
  r.s = host(out.value);
  auto gh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.gradient);
  r.g.assign(gh.data(), gh.data() + gh.size());
  if (curvature)
    r.lap = host(out.curvature);
  return r;
}

TEST(Engine, ValueGradientTimeDerivativeAndLaplacianMatchFiniteDifferences)
{
  for (const std::string which : {"gemm", "fused"})
    for (const auto &shape : shapes())
    {
      SCOPED_TRACE(which + " " + label(shape));
      Problem p(shape, Variant::plain);
      const Vec params = parameters(shape);
      const int n = p.primal(), d = shape.dim, n_in = shape.input_size();
      auto engine = make(which, shape, n, n, d);
      const Values at = evaluate(*engine, p, params);
      const nn::TimeEmbedding<double> embed{shape.time_features};
      for (int c = 0; c < n; ++c)
      {
        // value and gradient at x_c with coordinate r (r = d: time) moved to v
        auto moved = [&](int r, double v)
        {
          double &slot = r < d ? p.x[c * d + r] : p.times[c];
          const double keep = slot;
          slot = v;
          const Values out = evaluate(*engine, p, params);
          slot = keep;
          return out;
        };
        std::vector<double> analytic, numeric;
        for (int r = 0; r < d; ++r) // ∇ₓs
        {
          analytic.push_back(at.g[c * n_in + r]);
          numeric.push_back(test::central_difference([&](double v) { return moved(r, v).s[c]; }, p.x[c * d + r]));
        }
        double dsdt = 0; // ∂ₜs through the time features
        for (int j = 0; j < n_in - d; ++j)
          dsdt += at.g[c * n_in + d + j] * embed.derivative(j, p.times[c]);
        analytic.push_back(dsdt);
        numeric.push_back(test::central_difference([&](double v) { return moved(d, v).s[c]; }, p.times[c]));
        EXPECT_LT(test::relative_error(analytic, numeric), 1e-6) << "s derivatives, column " << c;
        double laplacian = 0; // Σ_r ∂(∂s/∂x_r)/∂x_r from the engine's own gradient
        for (int r = 0; r < d; ++r)
          laplacian += test::central_difference([&](double v) { return moved(r, v).g[c * n_in + r]; }, p.x[c * d + r]);
        EXPECT_LT(test::relative_error({at.lap[c]}, {laplacian}, 1e-3), 1e-6) << "Laplacian, column " << c;
      }
    }
}

TEST(Engine, LossParameterGradientMatchesFiniteDifferencesPerLayerForEveryLoss)
{
  for (Variant variant :
       {Variant::plain, Variant::entropic_exact, Variant::entropic_probes, Variant::unbalanced, Variant::weighted})
    for (const std::string which : {"gemm", "fused"})
      for (const auto &shape : shapes())
      {
        SCOPED_TRACE(std::string(name(variant)) + " " + which + " " + label(shape));
        Problem p(shape, variant);
        auto engine = make(which, shape, p.n_int, p.primal(), p.m);
        const Vec params = parameters(shape);
        Vec grad("grad", shape.param_count()), scratch("scratch", shape.param_count());
        p.loss_total(*engine, params, grad);
        const auto analytic = host(grad);
        auto theta = host(params);
        Vec probe("probe", theta.size());
        auto probe_h = Kokkos::create_mirror_view(probe);
        std::vector<double> numeric(theta.size());
        for (std::size_t i = 0; i < theta.size(); ++i)
          numeric[i] = test::central_difference(
              [&](double v)
              {
                for (std::size_t j = 0; j < theta.size(); ++j)
                  probe_h(j) = j == i ? v : theta[j];
                Kokkos::deep_copy(probe, probe_h);
                return p.loss_total(*engine, probe, scratch);
              },
              theta[i]);
        for (int k = 0; k < shape.maps(); ++k) // per layer: W_k and b_k blocks
        {
          const auto b = shape.weight_offset(k), e = shape.weight_offset(k + 1);
          std::vector<double> a(analytic.begin() + b, analytic.begin() + e), n(numeric.begin() + b, numeric.begin() + e);
          EXPECT_LT(test::relative_error(a, n), 1e-6) << "layer " << k;
        }
      }
}

TEST(Engine, HutchinsonProbesAverageToTheLaplacian)
{
  // The batch builder's probes ε/√m (Rademacher or Gaussian) make the engine's curvature
  // the mean of m estimates εᵀ∇²s ε, unbiased for Δs with variance 2Σ_{i≠j}H_ij² (Rademacher)
  // or 2‖H‖²_F (Gaussian) per probe; with m = 4000 the mean lies within 5 standard errors.
  nn::MlpShape shape;
  shape.dim = 3;
  shape.width = 8;
  shape.depth = 2;
  const Vec params = parameters(shape);
  auto source = std::make_shared<examples::GaussianSource<double, Exec>>(Exec(), examples::GaussianPath::preset(3));
  for (auto dist : {am::ProbeDistribution::rademacher, am::ProbeDistribution::gaussian})
  {
    am::Objective o;
    o.kind = am::LossKind::entropic;
    o.sigma_t = {0.0};
    o.sigma = {1.0};
    o.laplacian = am::LaplacianMode::hutchinson;
    o.probes = 4000;
    o.probe_distribution = dist;
    am::BatchBuilder<double, Exec> builder(Exec(), shape, o, 4, 1, 0, 1, am::TimeSampling::uniform, 5);
    nn::GemmEngine<double, Exec, Loss> engine(Exec(), shape, builder.capacity(3));
    builder.build(Exec(), *source, engine, 0);
    engine.forward(Exec(), params);
    engine.input_gradient(Exec(), params);
    engine.curvature(Exec(), params);
    const auto estimate = host(Vec(Kokkos::subview(engine.curvature_values(), Kokkos::make_pair(0, 4))));

    // the exact Hessian at the same columns, from finite differences of the exact gradient
    Problem p(shape, Variant::plain);
    p.n_int = 4;
    p.n_b = 0;
    auto uh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), engine.input());
    auto th = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), builder.times());
    p.x.clear();
    p.times.clear();
    for (int c = 0; c < 4; ++c)
    {
      p.times.push_back(th(c));
      for (int r = 0; r < 3; ++r)
        p.x.push_back(uh(r, c));
    }
    auto exact_engine = make("gemm", shape, 4, 4, 3);
    for (int c = 0; c < 4; ++c)
    {
      double H[3][3];
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b)
          H[a][b] = test::central_difference(
              [&](double v)
              {
                const double keep = p.x[c * 3 + b];
                p.x[c * 3 + b] = v;
                const double g = evaluate(*exact_engine, p, params).g[c * shape.input_size() + a];
                p.x[c * 3 + b] = keep;
                return g;
              },
              p.x[c * 3 + b]);
      double trace = 0, off = 0, diag = 0;
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b)
          (a == b ? diag : off) += H[a][b] * H[a][b];
      for (int a = 0; a < 3; ++a)
        trace += H[a][a];
      const double variance = dist == am::ProbeDistribution::gaussian ? 2 * (off + diag) : 2 * off;
      const double se = std::sqrt(variance / 4000);
      const double lap = evaluate(*exact_engine, p, params).lap[c];
      EXPECT_NEAR(lap, trace, 1e-6 * (1 + std::abs(trace))) << "exact Laplacian = trace of the FD Hessian";
      EXPECT_NEAR(estimate[c], lap, 5 * se + 1e-12) << "probe mean, column " << c;
      EXPECT_GT(std::abs(estimate[c] - lap), 0.0) << "the estimate is random";
    }
  }
}
} // namespace
