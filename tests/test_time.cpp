// Time in the loss: the boundedness claims of the time modes (README "Time in the loss"),
// checked on the objective itself rather than on a training run.
#include "backend.hpp"
#include <amk/am/batch.hpp>
#include <amk/examples/gaussian_path.hpp>
#include <amk/data/sources.hpp>
#include <amk/am/engines.hpp>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <gtest/gtest.h>

namespace
{
using namespace amk;
using Exec = amk::test::Exec;

/// E_{q_t}[J] with J(x) = e·x over n draws of `source` at time t (the same draws' ids at
/// every t: common random numbers).
double mean_projection(const data::Source<double, Exec> &source, double t, int n, const std::vector<double> &e)
{
  const int d = source.dim();
  Vector<double, Exec> times("t", n), mass("mass", n);
  Kokkos::View<std::uint64_t *, Exec::memory_space> ids("ids", n);
  Matrix<double, Exec> u("u", d, n);
  Kokkos::deep_copy(times, t);
  Kokkos::parallel_for(
      "ids", policy(Exec(), n), KOKKOS_LAMBDA(std::int64_t c) { ids(c) = std::uint64_t(c); });
  source.draw(Exec(), times, ids, RandomKey(4), MatrixRef<double, Exec>(u.data(), d, n), mass);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), u);
  double acc = 0;
  for (int c = 0; c < n; ++c)
    for (int r = 0; r < d; ++r)
      acc += e[r] * h(r, c);
  return acc / n;
}

TEST(TimeModes, TheNearestStaircaseIsUnboundedBelowAndTheCoupledPathIsNot)
{
  // s_λ(x, t) = λ J(x) φ((t − t_j)/η), J = e·x, φ(u) = e^{−u²}, a sharp bump in time at a
  // point t_j between snapshots 1 and 2 of five; η = λ^{−3}. The AM objective of s_λ is
  //   L = ∫ E_{q_t}[∂ₜs] dt + ½ ∫ E_{q_t}|∇s|² dt   (the boundary terms vanish: s_λ(·, 0) = s_λ(·, 1) = 0)
  //     = ∫ λ E_{q_t}[J] φ'(u)/η dt + ½ λ² |e|² η √(π/2).
  // On the nearest-snapshot staircase E_{q_t}[J] jumps at t_j from m₁ to m₂, so L → λ(m₁ − m₂):
  // linear in λ, unbounded below when m₁ < m₂. On the coupled path E_{q_t}[J] is linear in t
  // between snapshots, the first term is O(λη) and the second O(1/λ): L → 0.
  const auto path = examples::GaussianPath::preset(2);
  const auto snapshots = path.snapshots(5, 4000, 1);
  data::SnapshotSource<double, Exec> nearest(Exec(), snapshots, false);
  data::SnapshotSource<double, Exec> coupled(Exec(), snapshots, false);
  coupled.couple(Exec(), data::CouplingOptions(), {}, 3);
  std::vector<double> e = {2 / std::sqrt(5.0), -1 / std::sqrt(5.0)}; // along μ₁ − μ₀
  const double tj = 0.3; // between snapshots 1 (t = 0.25) and 2 (t = 0.5), nearer 1: nearest jumps at 0.375
  const int n = 4000;
  const double m1 = mean_projection(nearest, 0.25, n, e), m2 = mean_projection(nearest, 0.5, n, e);
  ASSERT_LT(m1, m2 - 0.2) << "the path moves along e";
  for (double lambda : {10.0, 100.0, 1000.0})
  {
    const double eta = std::pow(lambda, -3);
    auto objective = [&](const data::Source<double, Exec> &source, double centre)
    {
      const int G = 801; // trapezoid over [centre − 6η, centre + 6η], where φ' lives
      double L = 0;
      for (int g = 0; g < G; ++g)
      {
        const double u = -6 + 12.0 * g / (G - 1), t = centre + u * eta, w = (g == 0 || g == G - 1 ? 0.5 : 1.0);
        L += w * lambda * mean_projection(source, t, n, e) * (-2 * u * std::exp(-u * u)) / eta * (12.0 * eta / (G - 1));
      }
      return L + 0.5 * lambda * lambda * eta * std::sqrt(M_PI / 2);
    };
    const double staircase = objective(nearest, 0.375), smooth = objective(coupled, tj);
    std::printf("[ bump λ = %g ] nearest: L = %.4g (λ(m₁ − m₂) = %.4g), coupled: L = %.3g\n", lambda, staircase,
                lambda * (m1 - m2), smooth);
    EXPECT_NEAR(staircase, lambda * (m1 - m2), 0.02 * lambda * std::abs(m1 - m2) + 1 / lambda);
    EXPECT_LT(std::abs(smooth), 1.0 / lambda + 1e-3) << "the coupled path's objective stays bounded";
  }
}

/// Σ over a batch of ω_c ∂ₜc(t_c) (interior, when ∂ₜs is in the loss) + Σ ω_c c(t_c) (value
/// columns): what adding c(t) to s adds to the batch objective.
template <class C, class CPrime>
double added_by_a_function_of_time(am::QuadratureRule rule, const std::vector<double> &nodes, C c, CPrime c_prime)
{
  nn::MlpShape shape;
  shape.dim = 1;
  shape.width = 2;
  shape.depth = 1;
  am::Objective o;
  o.time = am::TimeMode::quadrature;
  o.rule = rule;
  o.nodes = nodes;
  const int B = 200000;
  am::BatchBuilder<double, Exec> builder(Exec(), shape, o, B, B, 0, 1, am::TimeSampling::low_discrepancy, 1);
  examples::GaussianPath path = examples::GaussianPath::preset(1);
  data::SnapshotSource<double, Exec> source(Exec(), path.snapshots(int(nodes.size()), 100, 2), false);
  // the GEMM engine from the registry (compiled once in libamk for the default space)
  auto engine_ptr = nn::make_engine<double, Exec, am::ActionLoss<double, Exec>>(Exec(), *find_choice<nn::EngineId>("gemm"), shape,
                                                                               builder.capacity(1));
  auto &engine = *engine_ptr;
  builder.build(Exec(), source, engine, 0);
  const auto &loss = builder.loss();
  auto t = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), loss.t);
  auto w = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), loss.weight);
  double added = 0;
  for (int col = 0; col < builder.layout().primal(); ++col)
    added += col < B ? (loss.time_derivative ? w(col) * c_prime(t(col)) : 0.0) : w(col) * c(t(col));
  return added;
}

TEST(TimeModes, TheDifferenceRuleIsInvariantToAFunctionOfTimeAndTrapezoidIsNot)
{
  // s + c(t) must not change the objective (s is identified up to c(t)). With ∂ₜs at the
  // nodes (trapezoid, Simpson), a c that vanishes at every node but not its slope adds
  // Σ_k w_k c'(t_k): c = A sin(2π(K−1)t) adds 2π(K−1)A, unbounded in A. Central differences
  // of s between nodes telescope against the boundary terms: nothing is added.
  const int K = 5;
  std::vector<double> nodes;
  for (int k = 0; k < K; ++k)
    nodes.push_back(double(k) / (K - 1));
  for (double A : {1.0, 100.0})
  {
    auto c = [&](double t) { return A * std::sin(2 * M_PI * (K - 1) * t); };
    auto c_prime = [&](double t) { return A * 2 * M_PI * (K - 1) * std::cos(2 * M_PI * (K - 1) * t); };
    const double trapezoid = added_by_a_function_of_time(am::QuadratureRule::trapezoid, nodes, c, c_prime);
    const double difference = added_by_a_function_of_time(am::QuadratureRule::difference, nodes, c, c_prime);
    std::printf("[ s + c(t), A = %g ] trapezoid adds %.5g (2π(K−1)A = %.5g), difference adds %.3g\n", A, trapezoid,
                2 * M_PI * (K - 1) * A, difference);
    EXPECT_NEAR(trapezoid, 2 * M_PI * (K - 1) * A, 1e-3 * A);
    EXPECT_NEAR(difference, 0.0, 1e-3 * A); // low-discrepancy node frequencies: error O(K/B)
  }
  // and any smooth c: the differences telescope exactly in expectation
  auto c = [](double t) { return std::exp(3 * t) + t * t; };
  auto c_prime = [](double t) { return 3 * std::exp(3 * t) + 2 * t; };
  EXPECT_NEAR(added_by_a_function_of_time(am::QuadratureRule::difference, nodes, c, c_prime), 0.0, 1e-3);
}

TEST(Coupling, TheAuctionFindsTheOptimalAssignment)
{
  // Against brute force over all 8! assignments of random points in 3-D (the auction with
  // a final ε of 1e-6 × the mean cost is optimal within n·ε), and with fewer rows than
  // partners: distinct partners, at a cost no larger than any of 2000 random injections.
  using View = Kokkos::View<double **, Kokkos::LayoutRight, Exec::memory_space>;
  const int n = 8, d = 3;
  const RandomKey key(21);
  auto points = [&](int count, std::uint64_t stream)
  {
    View v("points", count, d);
    auto h = Kokkos::create_mirror_view(v);
    for (int i = 0; i < count; ++i)
      for (int r = 0; r < d; ++r)
        h(i, r) = key(stream)(i).normal(r);
    Kokkos::deep_copy(v, h);
    return h;
  };
  const auto X = points(n, 1), Y = points(n, 2), Y2 = points(13, 3);
  auto cost = [&](const auto &A, const auto &B, const std::vector<std::int64_t> &p)
  {
    double c = 0;
    for (int i = 0; i < n; ++i)
      for (int r = 0; r < d; ++r)
        c += (A(i, r) - B(p[i], r)) * (A(i, r) - B(p[i], r)) / 2;
    return c;
  };
  const View Xd = Kokkos::create_mirror_view_and_copy(Exec::memory_space(), X),
             Yd = Kokkos::create_mirror_view_and_copy(Exec::memory_space(), Y),
             Y2d = Kokkos::create_mirror_view_and_copy(Exec::memory_space(), Y2);
  const auto found = data::auction_partners(Exec(), Xd, Yd, 1e-6);
  std::vector<std::int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  double best = 1e300;
  do
    best = std::min(best, cost(X, Y, perm));
  while (std::next_permutation(perm.begin(), perm.end()));
  EXPECT_NEAR(cost(X, Y, found), best, 1e-5 * best) << "optimal assignment";

  const auto injective = data::auction_partners(Exec(), Xd, Y2d, 1e-6);
  std::vector<std::int64_t> sorted = injective;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "distinct partners";
  const double c = cost(X, Y2, injective);
  for (int trial = 0; trial < 2000; ++trial)
  {
    std::vector<std::int64_t> all(13);
    std::iota(all.begin(), all.end(), 0);
    for (int i = 0; i < n; ++i)
      std::swap(all[i], all[i + key(99)(trial).index(i, 13 - i)]);
    EXPECT_LE(c, cost(X, Y2, std::vector<std::int64_t>(all.begin(), all.begin() + n)) + 1e-9);
  }
}

TEST(Coupling, BridgePartnersAreDrawnFromTheEntropicPlanAndAreTheAssignmentWhenItIsSharp)
{
  // Partners drawn by the (over-relaxed, 1 %-tolerance) Sinkhorn of the program, over 4000
  // keys, against the entropic plan's rows from 200000 plain Sinkhorn iterations in double;
  // below the auction's resolution the partners are the assignment's.
  using View = Kokkos::View<double **, Kokkos::LayoutRight, Exec::memory_space>;
  const int n = 12, d = 2;
  View X("X", n, d), Y("Y", n, d);
  auto hx = Kokkos::create_mirror_view(X), hy = Kokkos::create_mirror_view(Y);
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < d; ++r)
    {
      hx(i, r) = RandomKey(5)(i).normal(r);
      hy(i, r) = 3 + 1.2 * RandomKey(6)(i).normal(r);
    }
  Kokkos::deep_copy(X, hx);
  Kokkos::deep_copy(Y, hy);
  std::vector<double> C(n * n);
  double mean = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
    {
      double c = 0;
      for (int r = 0; r < d; ++r)
        c += (hx(i, r) - hy(j, r)) * (hx(i, r) - hy(j, r)) / 2;
      C[i * n + j] = c;
      mean += c / (n * n);
    }
  const double eps = 0.02 * mean; // a plan with a few partners per row
  std::vector<double> u(n, 1), v(n, 1), K(n * n);
  for (int k = 0; k < n * n; ++k)
    K[k] = std::exp(-(C[k] - mean) / eps);
  for (int it = 0; it < 200000; ++it)
  {
    for (int i = 0; i < n; ++i)
    {
      double s = 0;
      for (int j = 0; j < n; ++j)
        s += K[i * n + j] * v[j];
      u[i] = 1.0 / s;
    }
    for (int j = 0; j < n; ++j)
    {
      double s = 0;
      for (int i = 0; i < n; ++i)
        s += K[i * n + j] * u[i];
      v[j] = 1.0 / s;
    }
  }
  std::vector<double> counts(n * n, 0);
  const int draws = 4000;
  for (int k = 0; k < draws; ++k)
  {
    const auto p = data::impl::sinkhorn_partners(Exec(), X, Y, eps, data::CouplingOptions(), RandomKey(7)(k));
    for (int i = 0; i < n; ++i)
      counts[i * n + p[i]] += 1.0 / draws;
  }
  double worst = 0;
  for (int i = 0; i < n; ++i)
  {
    double row = 0, tv = 0;
    for (int j = 0; j < n; ++j)
      row += u[i] * K[i * n + j] * v[j];
    for (int j = 0; j < n; ++j)
      tv += std::abs(counts[i * n + j] - u[i] * K[i * n + j] * v[j] / row) / 2;
    worst = std::max(worst, tv);
  }
  EXPECT_LT(worst, 0.06) << "total variation of the drawn partners from the plan's row (sampling noise ~0.03)";
  double spread = 0; // the plan is not the assignment: rows have several partners
  for (int i = 0; i < n; ++i)
    spread += 1 - *std::max_element(counts.begin() + i * n, counts.begin() + (i + 1) * n);
  EXPECT_GT(spread / n, 0.1); // measured: TV 0.025, spread 0.45

  data::CouplingOptions o;
  EXPECT_EQ(data::impl::sinkhorn_partners(Exec(), X, Y, 0.5 * o.epsilon * mean, o, RandomKey(8)),
            data::auction_partners(Exec(), X, Y, o.epsilon))
      << "a plan sharper than the auction's resolution is the assignment";
}

TEST(Coupling, UnequalSnapshotsAreCoupledWithBothMarginalsExact)
{
  // Snapshots of 30, 45, 19 and 19 samples (2-D, moving and spreading), in chunks of 16: every
  // row of snapshot k carries exactly 1/N_k of its interval's pairs and every row of k + 1
  // exactly 1/N_{k+1} (to rounding), for straight lines and for bridges. A one-to-one
  // assignment leaves 15 rows of the second snapshot out: the jump in q_t at its time that
  // the AM objective rewards without bound. The straight plan of one chunk is exact OT between
  // the uniform distributions (120 and 180 samples: against the assignment of 3 copies of each
  // first row to 2 of each second row, 360 x 360); equal sizes with the
  // assignment give one pair per row, all of weight 1/N (drawn as before, by row).
  using View = Kokkos::View<double **, Kokkos::LayoutRight, Exec::memory_space>;
  const std::vector<std::int64_t> sizes = {30, 45, 19, 19}, offsets = {0, 30, 75, 94, 113};
  const int d = 2;
  View x("x", offsets.back(), d);
  auto h = Kokkos::create_mirror_view(x);
  for (std::size_t k = 0; k < sizes.size(); ++k)
    for (std::int64_t i = offsets[k]; i < offsets[k + 1]; ++i)
      for (int r = 0; r < d; ++r)
        h(i, r) = double(k) * (r == 0 ? 1.0 : -0.5) + (1 + 0.3 * double(k)) * RandomKey(31)(i).normal(r);
  Kokkos::deep_copy(x, h);
  data::CouplingOptions chunked;
  chunked.batch = 16;
  for (const bool bridge : {false, true})
  {
    const auto pairs =
        data::couple_adjacent(Exec(), x, offsets, chunked, bridge ? std::vector<double>{0.3, 0.3, 0.3} : std::vector<double>{}, 5);
    ASSERT_EQ(pairs.intervals(), 3);
    for (std::int64_t k = 0; k < 3; ++k)
    {
      std::vector<double> first(std::size_t(sizes[k]), 0.0), second(std::size_t(sizes[k + 1]), 0.0);
      for (std::int64_t p = pairs.begin[k]; p < pairs.begin[k + 1]; ++p)
      {
        EXPECT_GT(pairs.weight[p], 0);
        first[std::size_t(pairs.from[p] - offsets[k])] += pairs.weight[p];
        second[std::size_t(pairs.to[p] - offsets[k + 1])] += pairs.weight[p];
      }
      for (const double w : first)
        EXPECT_NEAR(w * double(sizes[k]), 1.0, 1e-12) << (bridge ? "bridge" : "straight") << " interval " << k;
      for (const double w : second)
        EXPECT_NEAR(w * double(sizes[k + 1]), 1.0, 1e-12) << (bridge ? "bridge" : "straight") << " interval " << k;
    }
    EXPECT_FALSE(pairs.uniform[0]);
    EXPECT_EQ(pairs.uniform[2], !bridge) << "equal sizes: the assignment is one pair per row";
  }
  // the plan's cost against exact OT (one chunk): 120 and 180 samples of two Gaussians
  const int n0 = 120, n1 = 180, lcm = 360;
  View z("z", n0 + n1, d);
  auto hz = Kokkos::create_mirror_view(z);
  for (int i = 0; i < n0 + n1; ++i)
    for (int r = 0; r < d; ++r)
      hz(i, r) = (i < n0 ? 0.0 : (r == 0 ? 1.0 : -0.5)) + (i < n0 ? 1.0 : 1.4) * RandomKey(32)(i).normal(r);
  Kokkos::deep_copy(z, hz);
  auto zsquare = [&](std::int64_t i, std::int64_t j)
  { return (hz(i, 0) - hz(j, 0)) * (hz(i, 0) - hz(j, 0)) + (hz(i, 1) - hz(j, 1)) * (hz(i, 1) - hz(j, 1)); };
  data::CouplingOptions whole;
  whole.epsilon = 1e-7;
  const auto pairs = data::couple_adjacent(Exec(), z, std::vector<std::int64_t>{0, n0, n0 + n1}, whole, {}, 5);
  double plan = 0;
  for (std::size_t p = 0; p < pairs.from.size(); ++p)
    plan += pairs.weight[p] * zsquare(pairs.from[p], pairs.to[p]);
  View X("X", lcm, d), Y("Y", lcm, d);
  auto hx = Kokkos::create_mirror_view(X), hy = Kokkos::create_mirror_view(Y);
  for (int c = 0; c < lcm; ++c)
    for (int r = 0; r < d; ++r)
    {
      hx(c, r) = hz(c % n0, r);
      hy(c, r) = hz(n0 + c % n1, r);
    }
  Kokkos::deep_copy(X, hx);
  Kokkos::deep_copy(Y, hy);
  const auto assignment = data::auction_partners(Exec(), X, Y, 1e-7);
  double exact = 0;
  for (int c = 0; c < lcm; ++c)
    exact += zsquare(c % n0, n0 + assignment[c] % n1) / lcm;
  std::printf("coupling of %d and %d samples: plan E|dx|^2 %.5f, exact OT %.5f (ratio %.4f), %zu pairs\n", n0, n1,
              plan, exact, plan / exact, pairs.from.size());
  EXPECT_NEAR(plan, exact, 1e-6 * exact) << "one chunk: exact OT";
}

TEST(Coupling, TheChunksGiveTheSamePairsOnAnyNumberOfHostThreads)
{
  // 6 snapshots (equal and unequal sizes) in chunks of 16 on 1, 2 and 5 host threads: the same
  // pairs and weights, bit for bit (each chunk is solved alone, its result put in its place);
  // a job that throws stops the pool and its error reaches the caller.
  using View = Kokkos::View<double **, Kokkos::LayoutRight, Exec::memory_space>;
  const std::vector<std::int64_t> offsets = {0, 40, 80, 125, 150, 190, 230};
  const int d = 3;
  View x("x", offsets.back(), d);
  auto h = Kokkos::create_mirror_view(x);
  for (std::int64_t i = 0; i < offsets.back(); ++i)
    for (int r = 0; r < d; ++r)
      h(i, r) = 0.01 * double(i) + RandomKey(41)(i).normal(r);
  Kokkos::deep_copy(x, h);
  data::CouplingOptions o;
  o.batch = 16;
  o.threads = 1;
  const auto one = data::couple_adjacent(Exec(), x, offsets, o, {}, 9);
  for (const int threads : {2, 5})
  {
    o.threads = threads;
    const auto many = data::couple_adjacent(Exec(), x, offsets, o, {}, 9);
    EXPECT_EQ(many.from, one.from) << threads << " threads";
    EXPECT_EQ(many.to, one.to) << threads << " threads";
    EXPECT_EQ(many.weight, one.weight) << threads << " threads";
    EXPECT_EQ(many.begin, one.begin) << threads << " threads";
  }
  std::vector<int> runs(100, 0);
  run_host_jobs(100, 4, [&](std::int64_t k) { ++runs[std::size_t(k)]; });
  EXPECT_TRUE(std::all_of(runs.begin(), runs.end(), [](int r) { return r == 1; })) << "each job once";
  EXPECT_THROW(run_host_jobs(50, 3, [](std::int64_t k) { require(k != 17, "job 17 fails"); }), Error);
}
} // namespace
