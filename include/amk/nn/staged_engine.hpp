#pragma once
// The staged engine: the fused step (nn/fused/step.hpp) shaped for GPUs. One kernel launch a
// step as in the fused engine, but its scratch staged over the two levels (ScratchPlan::
// staged): the weights first, then a block's buffers, the transposes and the team's gradient
// go into level 0 (shared memory) while they fit, the rest into level 1 (the team's share
// of global memory, L2-resident at these sizes); blocks of 8 to 32 samples so that a batch
// of 1024 fills an H200's 132 SMs; the portable tiles (4 × 4 per thread, 128 threads a team).
// Kokkos (through 4.6) gives a team at most the default 48 KB of shared memory, less its
// reduction space, not the 227 KB a Hopper SM can opt into: at width 64 (d 2, depth 3) the
// weights fit there, at width 128 they go to level 1 with everything else.
// On host back ends it runs (the tests check it against the GEMM engine there), but --engine
// auto does not time it and the untimed rule does not pick it: it is the GPUs' engine.
#include <amk/nn/fused_engine.hpp>
#include <memory>
#include <string>

namespace amk::nn
{
/// The staged engine in the registry (nn/engine_registry.hpp).
struct StagedEngineEntry
{
  static constexpr const char *name = "staged";
  static constexpr const char *summary = "the fused step for GPUs: weights in shared memory, many small teams";
  static constexpr bool fallback = false;

  template <class Scalar, class ExecutionSpace, class Loss>
  using Kernel = FusedEngine<Scalar, ExecutionSpace, Loss, impl::TilePath::portable, impl::ScratchPlan::staged>;

  /// A team's scratch for `shape` on this back end, as the engine would lay it out.
  template <class Scalar, class ExecutionSpace>
  static impl::FusedScratch layout(const MlpShape &shape, const Capacity &capacity)
  {
    using K = Kernel<Scalar, ExecutionSpace, impl::NoLoss>;
    return K::plan(shape, capacity, K::default_block_for(capacity));
  }
  /// GPUs only, and only where the weights are in shared memory: --engine auto times it there.
  template <class Scalar, class ExecutionSpace> static bool fits(const MlpShape &shape, const Capacity &capacity)
  {
    return !impl::is_host_space<ExecutionSpace> && layout<Scalar, ExecutionSpace>(shape, capacity).params.level == 0;
  }
  template <class Scalar, class ExecutionSpace>
  static std::string unsupported(const MlpShape &shape, const Capacity &capacity)
  {
    return impl::scratch_refusal("the staged kernel", "a team's global scratch",
                                 std::size_t(layout<Scalar, ExecutionSpace>(shape, capacity).template bytes<Scalar>(1)),
                                 Kokkos::TeamPolicy<ExecutionSpace>::scratch_size_max(1), ExecutionSpace::name());
  }
  /// The untimed rule: GPUs, where the weights sit in shared memory (width ≤ 64 at d 2).
  template <class Scalar, class ExecutionSpace> static bool suits(const MlpShape &shape, const Capacity &capacity)
  {
    return fits<Scalar, ExecutionSpace>(shape, capacity);
  }
  template <class Scalar, class ExecutionSpace, class Loss>
  static std::unique_ptr<Engine<Scalar, ExecutionSpace, Loss>> make(const ExecutionSpace &space, const MlpShape &shape,
                                                                   const Capacity &capacity)
  {
    return std::make_unique<Kernel<Scalar, ExecutionSpace, Loss>>(space, shape, capacity);
  }
};
} // namespace amk::nn
