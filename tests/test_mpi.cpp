// Data parallelism (DESIGN.md §4). On a built-in path P ranks compute the same loss and
// gradient as one rank, up to floating-point reassociation of the sums. On snapshot data
// each rank holds a shard: the shards cover every sample once, and the sharded estimator
// (times stratified by window, samples by slice) is unbiased: over many seeds its mean
// gradient is the one-rank mean. Run under mpirun at np 1, 2, 3 and 4; each rank also
// computes the one-rank answer itself.
#include "backend.hpp"
#include <amk/examples/gaussian_source.hpp>
#include <amk/io/snapshot_file.hpp>
#include <amk/train/trainer.hpp>
#include <cmath>
#include <cstdio>
#include <gtest/gtest.h>

namespace
{
using namespace amk;
using Exec = amk::test::Exec;

train::RunSpec config()
{
  train::RunSpec c;
  c.path = train::BuiltinPath::gaussian;
  c.out = "(test)";
  c.network.dim = 3;
  c.network.width = 24;
  c.network.depth = 2;
  c.network.time_features = 1;
  c.batch = 37; // not a multiple of 2 or 4: uneven slices
  c.boundary_batch = 21;
  c.dtype = train::Precision::float64;
  c.seed = 11;
  return c;
}

std::vector<double> host(const Vector<double, Exec> &v)
{
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

/// Both engines: the fused one sums its blocks in another order, the bound is the same.
void check_ranks_reproduce_one_rank(const std::string &engine)
{
  SCOPED_TRACE("engine " + engine);
  auto c = config();
  c.engine = find_choice<nn::EngineId>(engine);
  const auto path = examples::GaussianPath::preset(c.network.dim);
  auto source = std::make_shared<examples::GaussianSource<double, Exec>>(Exec(), path);
  train::Trainer<double, Exec> many(Exec(), c, source, dist::Comm::world());
  train::Trainer<double, Exec> one(Exec(), c, source, dist::Comm::self());
  for (int step = 0; step < 5; ++step)
  {
    const auto a = many.step(), b = one.step();
    // sums of O(1) terms over ≤ 37 samples reassociated: error ~ 37·ε·|terms| ≪ 1e-12
    EXPECT_NEAR(a.total(), b.total(), 1e-12 * (1 + std::abs(b.total()))) << "step " << step;
    const auto ga = host(many.gradient()), gb = host(one.gradient());
    double diff = 0, ref = 0;
    for (std::size_t i = 0; i < ga.size(); ++i)
    {
      diff = std::max(diff, std::abs(ga[i] - gb[i]));
      ref = std::max(ref, std::abs(gb[i]));
    }
    EXPECT_LT(diff, 1e-12 * ref) << "gradient, step " << step;
  }
  const auto pa = host(many.params()), pb = host(one.params());
  double diff = 0;
  for (std::size_t i = 0; i < pa.size(); ++i)
    diff = std::max(diff, std::abs(pa[i] - pb[i]));
  EXPECT_LT(diff, 1e-10) << "weights after 5 steps";
}

/// One rank's "P-rank" run is the one-rank run itself: the comparisons need P ≥ 2.
#define AMK_NEEDS_RANKS()                                                                                              \
  if (dist::Comm::world().size() == 1)                                                                                 \
  GTEST_SKIP() << "one rank: the P-rank estimator is the one-rank estimator itself (np >= 2 compares them)"

TEST(Mpi, RanksReproduceTheOneRankGradientAndTrajectory)
{
  AMK_NEEDS_RANKS();
  check_ranks_reproduce_one_rank("gemm");
}

TEST(Mpi, FusedEngineRanksReproduceTheOneRankGradient)
{
  AMK_NEEDS_RANKS();
  check_ranks_reproduce_one_rank("fused");
}

/// K = 9 snapshots at unequal times in [2, 5] (so that the windows differ in length; or
/// equally spaced, for Simpson's rule), of 41 + 7k samples (slices of unequal size), d = 2,
/// centred at 30, masses in [0.5, 1.5].
data::SnapshotData uneven_data(bool equally_spaced = false)
{
  const std::vector<double> times = equally_spaced ? data::equally_spaced(9, 2.0, 5.0)
                                                   : std::vector<double>{2.0, 2.2, 2.3, 3.0, 3.2, 3.3, 4.0, 4.6, 5.0};
  const auto full = data::normal_snapshots(
      2, times, 100, RandomKey(5), [&](std::int64_t k, int r) { return 30 + (r == 0 ? 0.4 : -0.3) * double(k); },
      [&](std::int64_t k, int) { return 1 + 0.05 * double(k); });
  data::SnapshotData d;
  d.dim = 2;
  d.times = times;
  d.offsets = {0};
  const RandomKey mass_key(9);
  for (std::size_t k = 0; k < times.size(); ++k)
  {
    const std::int64_t n = 41 + 7 * std::int64_t(k);
    for (std::int64_t i = 0; i < n; ++i)
    {
      for (int r = 0; r < 2; ++r)
        d.x.push_back(full.x[std::size_t((full.offsets[k] + i) * 2 + r)]);
      d.mass.push_back(0.5 + mass_key.uniform(std::uint64_t(d.mass.size())));
    }
    d.offsets.push_back(d.offsets.back() + n);
  }
  return d;
}

TEST(Mpi, ShardsReadFromAFileCoverEverySampleOnce)
{
  const auto comm = dist::Comm::world();
  const int P = comm.size();
  const auto whole = uneven_data();
  // one file per rank count: ctest runs the np 1-4 jobs side by side in one directory
  const std::string path = "amk_test_mpi_shards_np" + std::to_string(P) + ".h5";
  dist::collectively(comm, [&] { if (comm.root()) io::write_snapshots(path, whole, true); });
  const auto file = io::read_snapshots(path); // float32 values, as the shards read them
  const std::int64_t K = whole.snapshots(), N = whole.samples();
  for (int ranks_time : {0, 1, P})
  {
    SCOPED_TRACE("--ranks-time " + std::to_string(ranks_time));
    io::ShardRequest request;
    request.rank = comm.rank();
    request.ranks = P;
    request.ranks_time = ranks_time;
    request.collective = P > 1;
    const data::Shard shard = io::read_shard(path, request);
    EXPECT_EQ(shard.grid.ranks(), P);
    EXPECT_EQ(shard.grid.time, ranks_time > 0 ? ranks_time : P); // K − 1 = 8 intervals: every P ≤ 8 divides into time
    EXPECT_TRUE(shard.float32_file && shard.x64.empty() && !shard.x32.empty()) << "a float32 file stays float32";
    // every row is owned once over the ranks; the boundary slices cover the first and last
    // snapshot once; the windows chain over all snapshots
    std::vector<double> owned(std::size_t(N), 0.0), bound(std::size_t(N), 0.0), window(std::size_t(2 * P), 0.0);
    for (std::size_t j = 0; j < shard.window.size(); ++j)
      for (std::int64_t i = 0; i < shard.window[j].rows && shard.owns(j); ++i)
        owned[std::size_t(shard.window[j].row + i)] += 1;
    for (const auto &b : {shard.boundary0, shard.boundary1})
      for (std::int64_t i = 0; i < b.rows; ++i)
        bound[std::size_t(b.row + i)] += 1;
    window[std::size_t(2 * comm.rank())] = double(shard.window.front().snapshot);
    window[std::size_t(2 * comm.rank() + 1)] = double(shard.window.back().snapshot);
    comm.sum(owned.data(), owned.size());
    comm.sum(bound.data(), bound.size());
    comm.sum(window.data(), window.size());
    for (std::int64_t i = 0; i < N; ++i)
    {
      ASSERT_EQ(owned[std::size_t(i)], 1.0) << "row " << i;
      const bool end = i < whole.offsets[1] || i >= whole.offsets[std::size_t(K - 1)];
      ASSERT_EQ(bound[std::size_t(i)], end ? 1.0 : 0.0) << "row " << i;
    }
    for (int r = 0; r < P; ++r)
    {
      const int a = r / (P / shard.grid.time);
      EXPECT_EQ(window[std::size_t(2 * r)], a == 0 ? 0.0 : window[std::size_t(2 * (r - P / shard.grid.time) + 1)])
          << "rank " << r << ": windows share their edge snapshot";
      EXPECT_LT(window[std::size_t(2 * r)], window[std::size_t(2 * r + 1)]);
    }
    EXPECT_EQ(window[std::size_t(2 * P - 1)], double(K - 1));
    // the rows held are the file's (float32 values read as float32), and only those
    for (const auto &part : shard.window)
      for (std::int64_t i = 0; i < part.rows; ++i)
        for (int r = 0; r < 2; ++r)
          ASSERT_EQ(shard.x(shard.local(part.row + i), r), file.x[std::size_t((part.row + i) * 2 + r)]);
    EXPECT_LE(shard.held_rows(), N / P + 3 * (41 + 7 * (K - 1))) << "about 1/P of the rows, plus edges and boundaries";
    // the statistics from the partial sums, summed over ranks, are the whole data set's
    auto sums = data::partial_sums(shard);
    comm.sum(sums.data(), sums.size());
    const auto got = data::statistics(shard, sums);
    const auto one = data::shard_of(file, data::RankGrid(), 0);
    const auto want = data::statistics(one, data::partial_sums(one));
    for (int r = 0; r < 2; ++r)
      EXPECT_NEAR(got.shift[std::size_t(r)], want.shift[std::size_t(r)], 1e-12 * 30);
    EXPECT_NEAR(got.scale, want.scale, 1e-12);
    for (std::int64_t k = 0; k < K; ++k)
      EXPECT_NEAR(got.total_mass[std::size_t(k)], want.total_mass[std::size_t(k)], 1e-10);
  }
  dist::collectively(comm, [&] { if (comm.root()) std::remove(path.c_str()); });
}

/// Mean over batches of the sharded P-rank loss and gradient minus the one-rank ones at the
/// same weights, in standard errors: an unbiased sharded estimator gives |z| of a standard normal.
void check_sharded_estimator_is_unbiased(const std::string &loss, const std::string &time, const std::string &rule,
                                         int ranks_time)
{
  SCOPED_TRACE("loss " + loss + ", time " + time + " " + rule + ", --ranks-time " + std::to_string(ranks_time));
  const auto comm = dist::Comm::world();
  const auto whole = uneven_data(rule == "simpson");
  train::RunSpec c;
  c.data = "(memory)";
  c.out = "(test)";
  c.loss = parse_choice<am::LossKind>(loss, "loss");
  c.time = parse_choice<am::TimeMode>(time, "time");
  c.rule = parse_choice<am::QuadratureRule>(rule, "rule");
  c.network.dim = 2;
  c.network.width = 12;
  c.network.depth = 2;
  c.network.time_features = 1;
  c.batch = 29; // not a multiple of 2, 3 or 4
  c.boundary_batch = 13;
  c.dtype = train::Precision::float64;
  c.adam.clip = 0;
  const bool unbalanced = loss == "uam";
  const auto grid = data::RankGrid::choose(comm.size(), whole.snapshots(), ranks_time, rule == "simpson");
  const auto shard = data::shard_of(whole, grid, comm.rank());
  auto sums = data::partial_sums(shard);
  comm.sum(sums.data(), sums.size());
  auto sharded = std::make_shared<data::SnapshotSource<double, Exec>>(Exec(), shard, data::statistics(shard, sums),
                                                                      true, nullptr, unbalanced);
  auto one = std::make_shared<data::SnapshotSource<double, Exec>>(Exec(), whole, true, nullptr, unbalanced);
  if (time == "coupled")
  {
    sharded->couple(Exec(), data::CouplingOptions(), {}, 3);
    one->couple(Exec(), data::CouplingOptions(), {}, 3);
  }
  // the same weights for every batch (a bias that changed sign with random weights would
  // average out over seeds): both trainers start from seed 1's, and each batch s is drawn
  // by resuming at step s
  const int seeds = 400;
  c.seed = 1;
  train::Trainer<double, Exec> many(Exec(), c, sharded, comm);
  train::Trainer<double, Exec> single(Exec(), c, one, dist::Comm::self());
  io::Checkpoint start = single.checkpoint();
  std::vector<double> sum, sum2;
  for (int seed = 0; seed < seeds; ++seed)
  {
    start.step = seed;
    many.restore(start);
    single.restore(start);
    const auto a = many.step(), b = single.step();
    auto diff = host(many.gradient());
    const auto gb = host(single.gradient());
    for (std::size_t i = 0; i < diff.size(); ++i)
      diff[i] -= gb[i];
    diff.push_back(a.total() - b.total());
    if (sum.empty())
      sum.assign(diff.size(), 0.0), sum2.assign(diff.size(), 0.0);
    for (std::size_t i = 0; i < diff.size(); ++i)
    {
      sum[i] += diff[i];
      sum2[i] += diff[i] * diff[i];
    }
  }
  double worst = 0, spread = 0;
  for (std::size_t i = 0; i < sum.size(); ++i)
  {
    const double mean = sum[i] / seeds, var = sum2[i] / seeds - mean * mean;
    const double z = var > 0 ? std::abs(mean) / std::sqrt(var / seeds) : 0.0;
    worst = std::max(worst, z);
    spread = std::max(spread, std::sqrt(std::max(var, 0.0)));
  }
  if (comm.root())
    std::printf("[ %s, %s %s, %d x %d ranks ] largest |mean difference| / its standard error over %zu "
                "components and %d batches: %.2f\n",
                loss.c_str(), time.c_str(), rule.c_str(), grid.time, grid.sample, sum.size(), seeds, worst);
  // ~360 components: the largest |z| of as many standard normals stays below 4.5 (p ≈ 0.2 %)
  EXPECT_LT(worst, 4.5);
  EXPECT_GT(spread, 0.0) << "P ranks draw other samples than one: the test compares estimators, not copies";
}

TEST(Mpi, ShardedNearestSnapshotsOverSampleSlicesAreUnbiased)
{
  AMK_NEEDS_RANKS();
  check_sharded_estimator_is_unbiased("am", "nearest", "trapezoid", 1);
}

TEST(Mpi, ShardedCoupledPathOverTimeWindowsIsUnbiased)
{
  AMK_NEEDS_RANKS();
  check_sharded_estimator_is_unbiased("am", "coupled", "trapezoid", 0);
}

TEST(Mpi, ShardedQuadratureRulesPerWindowAreUnbiased)
{
  AMK_NEEDS_RANKS();
  check_sharded_estimator_is_unbiased("am", "quadrature", "trapezoid", 0);
  check_sharded_estimator_is_unbiased("am", "quadrature", "difference", 0);
  check_sharded_estimator_is_unbiased("am", "quadrature", "simpson", 0); // windows of interval pairs
}

TEST(Mpi, ShardedUnbalancedMassesOverBothAxesAreUnbiased)
{
  AMK_NEEDS_RANKS();
  const int P = dist::Comm::world().size();
  // sample slices couple within themselves (another path than one rank's): compare at the nodes
  check_sharded_estimator_is_unbiased("uam", "quadrature", "trapezoid", P % 2 == 0 ? P / 2 : P);
}
} // namespace
