// The fused engine (one team kernel per step) against the GEMM engine, whose gradient the
// finite-difference tests of test_engine.cpp check: the same loss terms and the same ∂L/∂θ
// for every loss it runs, activation and head, with partial blocks, partial tiles and
// several gradient slots; evaluate() alike (through the evaluation-only engines inference
// uses); and the registry's choice between them. (The portable tiles: test_fused_portable.cpp.)
#include "fused_comparison.hpp"

namespace
{
using namespace amk;
using namespace amk::test;

TEST(FusedEngine, MatchesTheGemmEngineForEveryLossActivationAndHead)
{
  every_loss_activation_and_head<impl::default_tile_path<Exec>>();
}


TEST(FusedEngine, MatchesTheGemmEngineAcrossShapesBlocksAndSlots)
{
  across_shapes_blocks_and_slots<impl::default_tile_path<Exec>>();
}

TEST(FusedEngine, TheRegistryTimesItWhereItFitsAndPicksItForNarrowNetworksOnly)
{
  const bool host = impl::is_host_space<Exec>, threaded = !host || Exec().concurrency() > 1;
  auto shape = [](int width, int dim)
  {
    nn::MlpShape s;
    s.width = width;
    s.dim = dim;
    return s;
  };
  const nn::EngineId gemm = *find_choice<nn::EngineId>("gemm"), fused = *find_choice<nn::EngineId>("fused");
  EXPECT_EQ(nn::engine_count, 3);
  EXPECT_EQ(name_list<nn::EngineId>(), "gemm, fused or staged");
  // the untimed rule (library users, and inference where the checkpoint names no engine)
  auto untimed = [&](int width, int dim, int directions = 0)
  { return name_of(nn::untimed_choice<float, Exec>(shape(width, dim), nn::Capacity{64, 192, directions})); };
  EXPECT_STREQ(untimed(512, 2), "gemm");
  EXPECT_STREQ(untimed(16, 8192), "gemm"); // the input layer alone outgrows a core's L2
  EXPECT_STREQ(untimed(256, 2), host && threaded ? "fused" : "gemm");
  EXPECT_STREQ(untimed(128, 2), host && threaded ? "fused" : "gemm"); // GPUs: the staged engine's weights too large
  EXPECT_STREQ(untimed(32, 2), host ? (threaded || impl::simd_bytes >= 32 ? "fused" : "gemm") : "staged");
  EXPECT_STREQ(untimed(256, 32, 32), "gemm"); // 32 curvature directions of a wide network outgrow 4 MB a team
  // --engine auto's candidates: every engine whose team buffers fit
  auto candidates = [&](int width, int dim, int directions = 0)
  { return nn::candidates<float, Exec>(shape(width, dim), nn::Capacity{64, 192, directions}); };
  // (and on GPUs the staged engine where its weights sit in shared memory)
  const nn::EngineId staged = *find_choice<nn::EngineId>("staged");
  const auto narrow = host ? std::vector<nn::EngineId>{gemm, fused} : std::vector<nn::EngineId>{gemm, fused, staged};
  EXPECT_EQ(candidates(32, 2), narrow);
  EXPECT_EQ(candidates(32, 2, 2), narrow);
  EXPECT_EQ(candidates(512, 2), std::vector<nn::EngineId>{gemm});
  EXPECT_EQ(candidates(256, 32, 32), std::vector<nn::EngineId>{gemm});
  // a named engine is built as named, or refused with the reason
  using Loss = am::ActionLoss<float, Exec>;
  auto built = [&](nn::EngineId id, int width)
  { return std::string(nn::make_engine<float, Exec, Loss>(Exec(), id, shape(width, 2), nn::Capacity{64, 192, 0})->name()); };
  EXPECT_EQ(built(fused, 256), "fused");
  EXPECT_EQ(built(gemm, 32), "gemm");
  if (nn::FusedEngineEntry::team_bytes<float>(shape(4096, 2), 0) >
      std::size_t(Kokkos::TeamPolicy<Exec>::scratch_size_max(1)))
  {
    try
    {
      nn::make_engine<float, Exec, Loss>(Exec(), fused, shape(4096, 2), nn::Capacity{64, 192, 0});
      ADD_FAILURE() << "a network larger than a team's scratch memory was built fused";
    }
    catch (const Error &e)
    {
      EXPECT_NE(std::string(e.what()).find("engine fused: the fused kernel needs"), std::string::npos) << e.what();
    }
  }
  // an evaluator has no loss: its gradient() refuses
  auto evaluator = nn::make_engine<float, Exec, impl::NoLoss>(Exec(), fused, shape(8, 2), nn::Capacity{4, 4, 0});
  Vector<float, Exec> params("params", shape(8, 2).param_count()), grad("grad", shape(8, 2).param_count());
  EXPECT_THROW(evaluator->gradient(Exec(), params, impl::NoLoss(), grad), Error);
}
} // namespace
