// The staged engine (the fused step shaped for GPUs: nn/staged_engine.hpp) against the GEMM
// engine (fused_comparison.hpp): its portable tiles with its scratch groups split over the two
// levels in every way the plan can put them, and its registry entry.
#include "fused_comparison.hpp"

namespace
{
using namespace amk;
using namespace amk::test;
constexpr auto portable = impl::TilePath::portable;
constexpr auto staged = impl::ScratchPlan::staged;

nn::MlpShape narrow(int width, int dim = 2)
{
  nn::MlpShape s;
  s.width = width;
  s.dim = dim;
  return s;
}

TEST(StagedEngine, PlacesTheWeightsFirstThenTheBuffersTheTransposesAndTheGradient)
{
  const auto s = shape(nn::Activation::silu, nn::Head::scalar, 40, 3);
  auto plan = [&](std::int64_t room) { return impl::FusedScratch(s, 8, 8, 0, staged, room); };
  const auto all = plan(1 << 30), none = plan(0);
  for (const auto *p : {&all.params, &all.buffers, &all.transposed, &all.grad})
    EXPECT_EQ(p->level, 0);
  for (const auto *p : {&none.params, &none.buffers, &none.transposed, &none.grad})
    EXPECT_EQ(p->level, 1);
  EXPECT_EQ(all.level_total[0], all.total);
  EXPECT_EQ(none.level_total[1], none.total);
  // room for the weights and the buffers only: the transposes and the gradient in level 1
  const auto two = plan(all.params_size + all.buffers_size);
  EXPECT_EQ(two.params.level, 0);
  EXPECT_EQ(two.buffers.level, 0);
  EXPECT_EQ(two.transposed.level, 1);
  EXPECT_EQ(two.grad.level, 1);
  EXPECT_EQ(two.level_total[0] + two.level_total[1], two.total);
  // a group that does not fit does not stop a later, smaller one: the weights too large,
  // the buffers in level 0
  const auto small = impl::FusedScratch(s, 1, 8, 0, staged, 1 << 30); // blocks of 1 sample
  ASSERT_LT(small.buffers_size, small.params_size);
  const auto later = impl::FusedScratch(s, 1, 8, 0, staged, small.buffers_size);
  EXPECT_EQ(later.params.level, 1);
  EXPECT_EQ(later.buffers.level, 0);
  // one level: all together, in level 1 when level 0 is too small
  const auto one = impl::FusedScratch(s, 8, 8, 0, impl::ScratchPlan::one_level, all.total - 1);
  for (const auto *p : {&one.params, &one.buffers, &one.transposed, &one.grad})
    EXPECT_EQ(p->level, 1);
}

TEST(StagedEngine, MatchesTheGemmEngineWhereverItsScratchGroupsLie)
{
  // every group in level 0, none, the back end's own limit (Serial: 32 KB, the weights of
  // width 40 and a block's buffers), and the weights alone
  const auto s = shape(nn::Activation::silu, nn::Head::scalar, 40, 3);
  const std::int64_t weights = impl::FusedScratch(s, 8, 8).params_size * 8;
  for (std::int64_t room : {std::int64_t(1) << 30, std::int64_t(0), std::int64_t(-1), weights})
  {
    SCOPED_TRACE("level 0 bytes " + std::to_string(room));
    every_loss_activation_and_head<portable, staged>(room);
    across_shapes_blocks_and_slots<portable, staged>(room);
  }
}

TEST(StagedEngine, TheRegistryBuildsItByNameAndLeavesItToGpus)
{
  using Loss = am::ActionLoss<float, Exec>;
  const nn::EngineId id = *find_choice<nn::EngineId>("staged");
  const nn::Capacity capacity{1024, 3072, 0};
  auto engine = nn::make_engine<float, Exec, Loss>(Exec(), id, narrow(64), capacity);
  EXPECT_STREQ(engine->name(), "staged");
  const auto &kernel = dynamic_cast<nn::StagedEngineEntry::Kernel<float, Exec, Loss> &>(*engine);
  const bool host = impl::is_host_space<Exec>;
  // blocks: ≥ one per 2048 threads (a GPU's SMs), 8 to 32 samples
  const int teams = std::max(1, Exec().concurrency() / 2048);
  EXPECT_GE(kernel.block(), 8);
  EXPECT_LE(kernel.block(), 32);
  EXPECT_TRUE(kernel.block() == 8 || kernel.block() * teams <= 1024);
  // the weights of width 64 (d 2, depth 3: 8.7k floats, 35 KB) fit a GPU team's shared memory
  EXPECT_EQ(kernel.layout().params.level,
            kernel.layout().params_size * 4 <= Kokkos::TeamPolicy<Exec>::scratch_size_max(0) ? 0 : 1);
  if (host)
  {
    EXPECT_FALSE((nn::StagedEngineEntry::fits<float, Exec>(narrow(64), capacity)));
    EXPECT_NE(name_of(nn::untimed_choice<float, Exec>(narrow(64), capacity)), std::string("staged"));
  }
  else
  {
    EXPECT_TRUE((nn::StagedEngineEntry::fits<float, Exec>(narrow(64), capacity)));
    EXPECT_STREQ(name_of(nn::untimed_choice<float, Exec>(narrow(64), capacity)), "staged");
    EXPECT_STREQ(name_of(nn::untimed_choice<float, Exec>(narrow(512), capacity)), "gemm");
  }
}

} // namespace
