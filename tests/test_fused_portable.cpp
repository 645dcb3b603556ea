// The fused engine's portable tiles against the GEMM engine (fused_comparison.hpp).
#include "fused_comparison.hpp"

namespace
{
using namespace amk;
using namespace amk::test;

// The portable tiles (4 × 4 scalar tiles spread over a team's threads: what GPUs run) on
// this back end too, so that a host-only machine tests the GPU code path's arithmetic.
TEST(FusedEngine, PortableTilesMatchTheGemmEngine)
{
  every_loss_activation_and_head<impl::TilePath::portable>();
  across_shapes_blocks_and_slots<impl::TilePath::portable>(); // widths 7 and 33: partial 4 × 4 tiles
}

} // namespace
