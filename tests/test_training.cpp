// Training end to end on the closed-form Gaussian path, plus the optimiser, the time
// samplers and exact resumption.
#include "backend.hpp"
#include <amk/am/engines.hpp>
#include "quick.hpp"
#include <amk/examples/gaussian_source.hpp>
#include <amk/examples/gaussian_path.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/sample/model.hpp>
#include <amk/train/run.hpp>
#include <amk/train/trainer.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace
{
using namespace amk;
using Exec = amk::test::Exec;

TEST(Optim, AdamFirstStepIsLrTimesSignAndClipBoundsTheNorm)
{
  // After one step from m = v = 0, bias correction gives m̂ = g, v̂ = g², so the update is
  // −lr·g/(|g| + ε) = −lr·sign(g) up to ε/|g|; clipping rescales g but not the sign.
  const int n = 5;
  Vector<double, Exec> p("p", n), g("g", n);
  auto gh = Kokkos::create_mirror_view(g);
  const double grads[n] = {3.0, -0.5, 1e-3, -40.0, 2.0};
  for (int i = 0; i < n; ++i)
    gh(i) = grads[i];
  Kokkos::deep_copy(g, gh);
  optim::AdamOptions o;
  o.lr = 0.01;
  o.warmup = 0;
  o.clip = 1.0;
  o.eps = 1e-12;
  optim::AdamState<double, Exec> s(Exec(), n);
  const double norm = optim::adam_step(Exec(), o, s, p, g);
  double expect_norm = 0;
  for (double v : grads)
    expect_norm += v * v;
  EXPECT_NEAR(norm, std::sqrt(expect_norm), 1e-12);
  auto ph = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), p);
  for (int i = 0; i < n; ++i)
    EXPECT_NEAR(ph(i), -o.lr * (grads[i] > 0 ? 1 : -1), 1e-8) << i;
  auto mh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.m);
  EXPECT_NEAR(mh(3), 0.1 * (-40.0 / std::sqrt(expect_norm)), 1e-12); // m = (1−β₁)·clipped g
}

TEST(Optim, AdamStepsMatchAReferenceWithWarmupBiasCorrectionClippingAndEmaWarmup)
{
  // 40 steps with changing gradients against a plain host transcription of Kingma & Ba's
  // Algorithm 1 (bias-corrected m̂, v̂), linear warm-up, global-norm clipping, and the EMA
  // with decay min(ema, (1 + t)/(10 + t)) started at the initial weights.
  const int n = 4, steps = 40;
  optim::AdamOptions o;
  o.lr = 0.05;
  o.warmup = 10;
  o.clip = 2.5;
  o.ema = 0.9;
  Vector<double, Exec> p("p", n), g("g", n);
  optim::AdamState<double, Exec> s(Exec(), n);
  auto ph = Kokkos::create_mirror_view(p);
  auto gh = Kokkos::create_mirror_view(g);
  std::vector<double> P(n), M(n, 0.0), V(n, 0.0), E(n);
  for (int i = 0; i < n; ++i)
    P[i] = E[i] = ph(i) = 0.3 * i - 0.5;
  Kokkos::deep_copy(p, ph);
  Kokkos::deep_copy(s.ema, p);
  for (int t = 1; t <= steps; ++t)
  {
    std::vector<double> G(n);
    double norm = 0;
    for (int i = 0; i < n; ++i)
    {
      G[i] = gh(i) = std::sin(0.7 * t + i) * (1 + 2 * (t % 3)) + 0.1 * P[i]; // clipped on some steps
      norm += G[i] * G[i];
    }
    norm = std::sqrt(norm);
    Kokkos::deep_copy(g, gh);
    EXPECT_NEAR(optim::adam_step(Exec(), o, s, p, g), norm, 1e-12);
    const double scale = norm > o.clip ? o.clip / norm : 1.0;
    const double lr = o.lr * std::min(1.0, double(t) / double(o.warmup));
    const double decay = std::min(o.ema, (1.0 + t) / (10.0 + t));
    for (int i = 0; i < n; ++i)
    {
      const double gi = scale * G[i];
      M[i] = o.beta1 * M[i] + (1 - o.beta1) * gi;
      V[i] = o.beta2 * V[i] + (1 - o.beta2) * gi * gi;
      const double mhat = M[i] / (1 - std::pow(o.beta1, t)), vhat = V[i] / (1 - std::pow(o.beta2, t));
      P[i] -= lr * mhat / (std::sqrt(vhat) + o.eps);
      E[i] = decay * E[i] + (1 - decay) * P[i];
    }
  }
  auto pf = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), p);
  auto ef = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.ema);
  for (int i = 0; i < n; ++i)
  {
    EXPECT_NEAR(pf(i), P[i], 1e-12) << "parameter " << i;
    EXPECT_NEAR(ef(i), E[i], 1e-12) << "EMA " << i;
  }
  // the warm-up of the EMA decay, and its cap
  EXPECT_NEAR(optim::ema_decay(0.999, 1), 2.0 / 11.0, 1e-15);
  EXPECT_NEAR(optim::ema_decay(0.999, 3000), 3001.0 / 3010.0, 1e-15);
  EXPECT_EQ(optim::ema_decay(0.999, 100000), 0.999);
}

TEST(Batch, LowDiscrepancyTimesFollowTheSqrt2SequenceAcrossSteps)
{
  const int B = 16;
  nn::MlpShape shape;
  shape.width = 4;
  shape.depth = 1;
  am::BatchBuilder<double, Exec> builder(Exec(), shape, am::Objective(), B, B, 0, 1, am::TimeSampling::low_discrepancy,
                                         3);
  auto source = std::make_shared<examples::GaussianSource<double, Exec>>(Exec(), examples::GaussianPath::preset(2));
  // the GEMM engine from the registry (compiled once in libamk for the default space)
  auto engine_ptr = nn::make_engine<double, Exec, am::ActionLoss<double, Exec>>(Exec(), *find_choice<nn::EngineId>("gemm"), shape,
                                                                               builder.capacity(2));
  auto &engine = *engine_ptr;
  std::vector<double> first;
  for (int step = 0; step < 2; ++step)
  {
    builder.build(Exec(), *source, engine, step);
    auto t = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), builder.times());
    for (int c = 0; c < 3 * B; ++c)
      first.push_back(t(c));
  }
  // t_i = (u₀ + √2·i) mod 1 with i running on from step 0 into step 1
  const double u0 = first[0];
  for (int step = 0; step < 2; ++step)
    for (int c = 0; c < B; ++c)
    {
      const double v = u0 + std::sqrt(2.0) * (step * B + c);
      EXPECT_NEAR(first[step * 3 * B + c], v - std::floor(v), 1e-12);
    }
  EXPECT_EQ(first[B], 0.0);         // boundary q0 columns
  EXPECT_EQ(first[3 * B - 1], 1.0); // boundary q1 columns
}

TEST(Batch, StratifiedTimesHitEveryStratumOnce)
{
  const int B = 64;
  nn::MlpShape shape;
  shape.dim = 1;
  shape.width = 4;
  shape.depth = 1;
  am::BatchBuilder<double, Exec> builder(Exec(), shape, am::Objective(), B, 1, 0, 1, am::TimeSampling::stratified, 5);
  auto source = std::make_shared<examples::GaussianSource<double, Exec>>(Exec(), examples::GaussianPath::preset(1));
  // the GEMM engine from the registry (compiled once in libamk for the default space)
  auto engine_ptr = nn::make_engine<double, Exec, am::ActionLoss<double, Exec>>(Exec(), *find_choice<nn::EngineId>("gemm"), shape,
                                                                               builder.capacity(1));
  auto &engine = *engine_ptr;
  builder.build(Exec(), *source, engine, 7);
  auto t = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), builder.times());
  std::vector<int> hits(B, 0);
  for (int c = 0; c < B; ++c)
    hits[int(t(c) * B)]++;
  for (int k = 0; k < B; ++k)
    EXPECT_EQ(hits[k], 1) << "stratum " << k;
}

/// Trains on the exact Gaussian path (anisotropic, moving and widening/narrowing).
struct GaussianRun
{
  train::RunSpec config;
  std::shared_ptr<examples::GaussianSource<float, Exec>> source;
  std::unique_ptr<train::Trainer<float, Exec>> trainer;

  explicit GaussianRun(const std::string &engine)
  {
    config.engine = find_choice<nn::EngineId>(engine);
    config.path = train::BuiltinPath::gaussian;
    config.out = "(test)";
    config.network.dim = 2;
    config.network.width = 64;
    config.network.depth = 3;
    config.batch = 256;
    config.steps = test::full_or_quick(1500, 300);
    config.adam.lr = 2e-3;
    config.adam.warmup = 100;
    config.adam.ema = 0.99;
    config.seed = 1;
    source = std::make_shared<examples::GaussianSource<float, Exec>>(Exec(), examples::GaussianPath::preset(2));
    trainer = std::make_unique<train::Trainer<float, Exec>>(Exec(), config, source, dist::Comm::world());
    while (trainer->completed_steps() < config.steps)
      trainer->step();
  }
};

/// Trains with `engine` and checks the velocity and the transport against the closed form.
void check_gaussian_path(const std::string &engine)
{
  SCOPED_TRACE("engine " + engine);
  GaussianRun run(engine);
  EXPECT_EQ(std::string(run.trainer->engine_name()), engine);
  const auto &path = run.source->path();
  sample::ActionModel<float, Exec> model(Exec(), run.trainer->checkpoint(), true);

  // 1. ∇ₓs against v(x,t) = μ̇ + σ̇/σ_t (x − μ_t) on fresh samples of q_t
  const int n = 2000, d = 2;
  const RandomKey key(12345);
  double err2 = 0, ref2 = 0;
  for (double t : {0.1, 0.3, 0.5, 0.7, 0.9})
  {
    Matrix<float, Exec> x("x", d, n), g("g", d, n);
    Vector<float, Exec> tv("t", n);
    auto xh = Kokkos::create_mirror_view(x);
    for (int c = 0; c < n; ++c)
      for (int r = 0; r < d; ++r)
        xh(r, c) = float(path.mean(r, t) + path.stddev(r, t) * key(c * 7 + int(t * 10)).normal(r));
    Kokkos::deep_copy(x, xh);
    Kokkos::deep_copy(tv, float(t));
    model.evaluate(Exec(), x, tv, Vector<float, Exec>(), g, Vector<float, Exec>());
    auto gh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g);
    for (int c = 0; c < n; ++c)
      for (int r = 0; r < d; ++r)
      {
        const double v = path.velocity(r, xh(r, c), t);
        err2 += (gh(r, c) - v) * (gh(r, c) - v);
        ref2 += v * v;
      }
  }
  const double rel = std::sqrt(err2 / ref2);
  EXPECT_LT(rel, test::full_or_quick(0.05, 0.08)) << "relative L2 error of the learned velocity"; // 300 steps: 0.043
  std::printf("[ velocity ] relative L2 error %.4f\n", rel);

  // 2. push q0 samples to t = 1 (RK4) and compare mean and variance with q1.
  // Sampling error of the mean is σ₁/√n ≤ 1.5/63 ≈ 0.024 and of a variance ≈ σ²√(2/n) (3 %);
  // the bounds allow about 4 standard errors plus the model error.
  const int m = 4000;
  Matrix<float, Exec> x("x0", d, m);
  auto xh = Kokkos::create_mirror_view(x);
  for (int c = 0; c < m; ++c)
    for (int r = 0; r < d; ++r)
      xh(r, c) = float(path.mean(r, 0) + path.stddev(r, 0) * key(900000 + c).normal(r));
  Kokkos::deep_copy(x, xh);
  model.integrate(Exec(), sample::Method::rk4, x, 0.0f, 1.0f, 50, 0, [](int, float, const auto &) {});
  Kokkos::deep_copy(xh, x);
  for (int r = 0; r < d; ++r)
  {
    double mean = 0, var = 0;
    for (int c = 0; c < m; ++c)
      mean += xh(r, c);
    mean /= m;
    for (int c = 0; c < m; ++c)
      var += (xh(r, c) - mean) * (xh(r, c) - mean);
    var /= (m - 1);
    const double sd1 = path.stddev(r, 1);
    // 300 steps: means 0.009 off, variances 16 %
    EXPECT_NEAR(mean, path.mean(r, 1), 0.1) << "mean, axis " << r;
    EXPECT_NEAR(var / (sd1 * sd1), 1.0, test::full_or_quick(0.15, 0.3)) << "variance ratio, axis " << r;
    std::printf("[ transport ] axis %d: mean %.4f (exact %.4f), variance %.4f (exact %.4f)\n", r, mean, path.mean(r, 1),
                var, sd1 * sd1);
  }
  double cov = 0; // the axes stay independent
  for (int c = 0; c < m; ++c)
    cov += (xh(0, c) - path.mean(0, 1)) * (xh(1, c) - path.mean(1, 1));
  EXPECT_NEAR(cov / m, 0.0, 0.1) << "covariance of the axes"; // 300 steps: 0.010
  std::printf("[ covariance ] %.4f\n", cov / m);
}

TEST(Training, GaussianPathVelocityMatchesClosedFormAndTransportsQ0ToQ1) { check_gaussian_path("gemm"); }

TEST(Training, FusedEngineLearnsTheGaussianPathAsWell) { check_gaussian_path("fused"); }

TEST(Sample, EulerHeunAndRk4ConvergeAtTheirOrders)
{
  // On the velocity field of a fixed random network (double precision), the error at t = 1
  // against RK4 with 2048 steps falls by 2^p when the step count doubles: p = 1 (Euler),
  // 2 (Heun), 4 (RK4).
  nn::MlpShape shape;
  shape.dim = 2;
  shape.width = 16;
  shape.depth = 2;
  shape.time_features = 1;
  train::RunSpec config;
  config.network = shape;
  config.dtype = train::Precision::float64;
  io::Checkpoint checkpoint;
  checkpoint.config = train::to_json(config);
  Vector<double, Exec> params("params", shape.param_count());
  nn::initialize(Exec(), shape, params, 3);
  auto ph = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), params);
  checkpoint.params.assign(ph.data(), ph.data() + ph.extent(0));
  for (double &w : checkpoint.params)
    w *= 2; // a field that bends the paths
  checkpoint.ema = checkpoint.params;
  checkpoint.normalisation.shift = {0.0, 0.0};
  sample::ActionModel<double, Exec> model(Exec(), checkpoint, true);

  const int n = 64;
  auto solve = [&](sample::Method method, int steps)
  {
    Matrix<double, Exec> x("x", 2, n);
    auto xh = Kokkos::create_mirror_view(x);
    for (int c = 0; c < n; ++c)
      for (int r = 0; r < 2; ++r)
        xh(r, c) = RandomKey(17)(c).normal(r);
    Kokkos::deep_copy(x, xh);
    model.integrate(Exec(), method, x, 0.0, 1.0, steps, 0, [](int, double, const auto &) {});
    Kokkos::deep_copy(xh, x);
    return std::vector<double>(xh.data(), xh.data() + 2 * n);
  };
  const auto exact = solve(sample::Method::rk4, 2048);
  auto error = [&](sample::Method method, int steps)
  {
    const auto x = solve(method, steps);
    double e = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      e = std::max(e, std::abs(x[i] - exact[i]));
    return e;
  };
  const struct
  {
    sample::Method method;
    int order, steps;
  } cases[] = {{sample::Method::euler, 1, 64}, {sample::Method::heun, 2, 32}, {sample::Method::rk4, 4, 16}};
  for (const auto &k : cases)
  {
    const double coarse = error(k.method, k.steps), fine = error(k.method, 2 * k.steps);
    const double order = std::log2(coarse / fine);
    std::printf("[ order ] method %d: error %.3g at %d steps, %.3g at %d: observed order %.2f\n", int(k.method),
                coarse, k.steps, fine, 2 * k.steps, order);
    EXPECT_NEAR(order, k.order, 0.25) << "method " << int(k.method);
  }
}

TEST(Training, ResumeContinuesExactly)
{
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "amk_resume";
  fs::remove_all(dir);
  train::RunSpec c;
  c.path = train::BuiltinPath::gaussian;
  c.network.dim = 2;
  c.network.width = 16;
  c.network.depth = 2;
  c.batch = 32;
  c.log_every = 5;
  c.checkpoint_every = 10;
  c.out = (dir / "straight").string();
  c.steps = 20;
  train::run_training(c, dist::Comm::world(), false, true);
  c.out = (dir / "resumed").string();
  c.steps = 10;
  train::run_training(c, dist::Comm::world(), false, true);
  { // a line logged after the last checkpoint by a run that then died
    std::ofstream(dir / "resumed" / "metrics.jsonl", std::ios::app) << R"({"step": 15, "loss": 12345})" << '\n';
  }
  c.steps = 20;
  train::run_training(c, dist::Comm::world(), true, true);
  std::ifstream metrics(dir / "resumed" / "metrics.jsonl");
  std::vector<std::int64_t> steps;
  for (std::string line; std::getline(metrics, line);)
  {
    EXPECT_EQ(line.find("12345"), std::string::npos) << "the dead run's line survived";
    steps.push_back(nlohmann::json::parse(line)["step"].get<std::int64_t>());
  }
  EXPECT_EQ(steps, (std::vector<std::int64_t>{5, 10, 15, 20}));
  const auto a = io::read_checkpoint((dir / "straight" / "checkpoint.h5").string());
  const auto b = io::read_checkpoint((dir / "resumed" / "checkpoint.h5").string());
  EXPECT_EQ(a.step, 20);
  EXPECT_EQ(b.step, 20);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.ema, b.ema);
  EXPECT_EQ(a.adam_m, b.adam_m);
  EXPECT_EQ(a.adam_v, b.adam_v);
}
} // namespace
