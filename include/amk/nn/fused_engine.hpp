#pragma once
// FusedEngine: the whole derivative chain of one training step (DESIGN.md §2) in ONE kernel
// launch (nn/fused/step.hpp), for narrow networks where library GEMMs are latency-bound and
// the step is a chain of ~40 small launches. This file is the host side: buffers, the team
// policy, the sum of the teams' gradient slots, and the engine's registry entry
// (FusedEngineEntry: where it can run and where the untimed rule picks it).
#include <amk/core/error.hpp>
#include <amk/core/types.hpp>
#include <amk/nn/activation.hpp>
#include <amk/nn/engine.hpp>
#include <amk/nn/fused/scratch.hpp>
#include <amk/nn/fused/step.hpp>
#include <amk/nn/impl/team_kernels.hpp>
#include <amk/nn/mlp.hpp>
#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

namespace amk::impl
{
/// "" where `bytes` of a team's scratch are within the back end's `most`, else why not (an
/// engine's unsupported()).
inline std::string scratch_refusal(const char *kernel, const char *what, std::size_t bytes, std::size_t most,
                                   const char *space)
{
  if (bytes <= most)
    return "";
  std::ostringstream why;
  why.precision(3);
  why << kernel << " needs " << double(bytes) / double(1 << 20) << " MiB of " << what << " for this network, more than "
      << space << " gives (" << double(most) / double(1 << 20) << " MiB); use the GEMM engine";
  return why.str();
}
} // namespace amk::impl

namespace amk::nn
{
template <class Scalar, class ExecutionSpace, class Loss,
          impl::TilePath Path = impl::default_tile_path<ExecutionSpace>,
          impl::ScratchPlan Plan = impl::ScratchPlan::one_level>
class FusedEngine;

/// The fused engine in the registry (nn/engine_registry.hpp).
struct FusedEngineEntry
{
  static constexpr const char *name = "fused";
  static constexpr const char *summary = "one team kernel per step, for narrow networks";
  static constexpr bool fallback = false;

  /// Bytes of one team's scratch memory for `shape` and `directions` curvature directions.
  template <class Scalar> static std::size_t team_bytes(const MlpShape &shape, int directions)
  {
    return std::size_t(impl::FusedScratch(shape, impl::block_for(directions), sizeof(Scalar), directions).total) *
           sizeof(Scalar);
  }
  /// A team's buffers within 4 MB (a core's L2 share here): beyond that the kernel loses to
  /// library GEMMs wherever it was measured, so --engine auto does not time it.
  template <class Scalar, class ExecutionSpace> static bool fits(const MlpShape &shape, const Capacity &capacity)
  {
    return team_bytes<Scalar>(shape, capacity.directions) <= (std::size_t(4) << 20);
  }
  /// "" where the back end gives a team enough scratch memory, else why not.
  template <class Scalar, class ExecutionSpace>
  static std::string unsupported(const MlpShape &shape, const Capacity &capacity)
  {
    return impl::scratch_refusal("the fused kernel", "team scratch memory", team_bytes<Scalar>(shape, capacity.directions),
                                 Kokkos::TeamPolicy<ExecutionSpace>::scratch_size_max(1), ExecutionSpace::name());
  }
  /// The untimed rule (where nothing is measured): whether the fused kernel is the faster
  /// engine for `shape` here (measured with `amk bench --engine` on a 2-core AVX-512 Xeon,
  /// perf/README.md): with threads (OpenMP) it beats library GEMMs up to width 256, where one
  /// team's working set still sits in a core's L2; on GPUs the staged engine takes its
  /// place. One host thread (Serial) races the GEMM engine's threaded BLAS:
  /// there the fused kernel wins only at width ≤ 64, with 256-bit or wider SIMD.
  template <class Scalar, class ExecutionSpace> static bool suits(const MlpShape &shape, const Capacity &capacity)
  {
    if (!fits<Scalar, ExecutionSpace>(shape, capacity) || team_bytes<Scalar>(shape, 0) > (std::size_t(4) << 20))
      return false;
    if (!impl::is_host_space<ExecutionSpace>) // its scratch is in global memory there: the staged engine's
      return false;
    if (ExecutionSpace().concurrency() > 1)
      return shape.width <= 256;
    return shape.width <= 64 && impl::simd_bytes >= 32;
  }
  template <class Scalar, class ExecutionSpace, class Loss>
  static std::unique_ptr<Engine<Scalar, ExecutionSpace, Loss>> make(const ExecutionSpace &space, const MlpShape &shape,
                                                                   const Capacity &capacity)
  {
    return std::make_unique<FusedEngine<Scalar, ExecutionSpace, Loss, impl::default_tile_path<ExecutionSpace>>>(
        space, shape, capacity);
  }
};

/// \tparam Path the team kernels' code: the back end's own by default; tests also run the
///              portable (GPU) path on host back ends.
/// \tparam Plan where a team's scratch groups go: one level (this engine, "fused"), or staged
///              over GPU shared and global memory (the "staged" engine, nn/staged_engine.hpp).
template <class Scalar, class ExecutionSpace, class Loss, impl::TilePath Path, impl::ScratchPlan Plan>
class FusedEngine final : public Engine<Scalar, ExecutionSpace, Loss>
{
  using Base = Engine<Scalar, ExecutionSpace, Loss>;
  using Base::m_np;
  using Base::m_nt;
  using Base::m_shape;

public:
  using matrix = Matrix<Scalar, ExecutionSpace>;
  using vector = Vector<Scalar, ExecutionSpace>;
  using typename Base::matrix_ref;

  static constexpr int default_block = impl::default_block;

  /// \param block [in] samples per team block (0: the default for the capacity's directions,
  ///                  and with the staged plan for the back end's cores)
  /// \param slots [in] most concurrent teams, each with its own gradient (0: the back end's
  ///                  concurrency / team size)
  /// \param level0_bytes [in] scratch level 0 a team may take (-1: the back end's limit)
  FusedEngine(const ExecutionSpace &space, const MlpShape &shape, const Capacity &capacity, int block = 0,
              int slots = 0, std::int64_t level0_bytes = -1)
      : Base(shape, capacity), m_block(block > 0 ? block : default_block_for(capacity)),
        m_layout(plan(shape, capacity, m_block, level0_bytes))
  {
    const int max_tangent = capacity.max_tangent, max_primal = capacity.max_primal;
    const int max_blocks = (max_tangent + m_block - 1) / m_block + (max_primal - max_tangent + m_block - 1) / m_block;
    // host SIMD tiles: one thread per team; portable tiles: up to 128 threads (a host back
    // end's threads, in tests), fewer where the kernel's registers or the back end allow less
    m_team_size = Path == impl::TilePath::host_simd
                      ? 1
                      : (impl::is_host_space<ExecutionSpace> ? std::min(128, ExecutionSpace().concurrency()) : 128);
    const int concurrency = slots > 0 ? slots : ExecutionSpace().concurrency() / m_team_size;
    m_slots = std::max(1, std::min(max_blocks, concurrency));
    require(m_layout.bytes<Scalar>(1) <= std::int64_t(Kokkos::TeamPolicy<ExecutionSpace>::scratch_size_max(1)),
            std::string(name()) + ": the network is too large for one team's scratch memory (use --engine gemm)");
    m_input = uninitialized<matrix>(space, "amk::FusedEngine::input", shape.input_size(), max_primal);
    if (capacity.directions > 0)
      m_directions = uninitialized<matrix>(space, "amk::FusedEngine::directions", shape.input_size(),
                                           std::int64_t(capacity.directions) * max_tangent);
    if (m_slots > 1 && !impl::is_evaluation_only<Loss>)
      m_slot_grad = uninitialized<matrix>(space, "amk::FusedEngine::slot_grad", shape.param_count(), m_slots);
    m_slot_sums =
        Kokkos::View<double **, typename ExecutionSpace::memory_space>("amk::FusedEngine::slot_sums", m_slots, 2);
    m_host_sums = Kokkos::create_mirror_view(m_slot_sums);
  }

  /// A team's scratch layout for `shape` in blocks of `block` samples, with level0_bytes of
  /// level 0 (-1: the back end's limit).
  static impl::FusedScratch plan(const MlpShape &shape, const Capacity &capacity, int block,
                                 std::int64_t level0_bytes = -1)
  {
    const std::int64_t room =
        level0_bytes >= 0 ? level0_bytes : std::int64_t(Kokkos::TeamPolicy<ExecutionSpace>::scratch_size_max(0));
    return impl::FusedScratch(shape, block, sizeof(Scalar), capacity.directions, Plan,
                              room / std::int64_t(sizeof(Scalar)));
  }

  /// Samples per block: one-level plans take the directions' default; the staged plan splits
  /// the batch into at least one block per 2048 threads of the back end (a GPU's SM: an
  /// H200's 132 SMs get 128 interior blocks of 8 at batch 1024), 8 to 32 samples a block.
  static int default_block_for(const Capacity &capacity)
  {
    const int by_directions = impl::block_for(capacity.directions);
    if (Plan != impl::ScratchPlan::staged)
      return by_directions;
    const int teams = std::max(1, ExecutionSpace().concurrency() / 2048);
    int block = std::min(8, by_directions);
    while (2 * block <= std::min(32, by_directions) && 2 * block * teams <= capacity.max_tangent)
      block *= 2;
    return block;
  }

  /// Bytes of team scratch memory per team (weights, their transposes, gradient, block).
  std::int64_t scratch_bytes() const { return m_layout.total * std::int64_t(sizeof(Scalar)); }
  /// Bytes of it in scratch level `level` (0: GPU shared memory).
  std::int64_t scratch_bytes(int level) const { return m_layout.bytes<Scalar>(level); }
  const impl::FusedScratch &layout() const { return m_layout; }
  const char *name() const override { return Plan == impl::ScratchPlan::staged ? "staged" : FusedEngineEntry::name; }
  int slots() const { return m_slots; }
  int block() const { return m_block; }

  matrix_ref input() const override { return Base::block(m_input, 0, m_np); }
  matrix_ref direction_input() const override
  {
    return Base::block(m_directions, 0, this->columns().direction_columns());
  }

  ColumnSums gradient(const ExecutionSpace &space, const vector &params, const Loss &loss,
                      const vector &grad) override
  {
    if constexpr (impl::is_evaluation_only<Loss>)
      throw Error("FusedEngine::gradient: an evaluator (nn::make_evaluator) has no loss");
    else
    {
      Region region("amk::FusedEngine::gradient");
      launch(space, params, loss, grad, Evaluation<Scalar, ExecutionSpace>());
      if (m_slots > 1)
        Kokkos::parallel_for("amk::FusedEngine::sum_slots", policy(space, m_shape.param_count()),
                             impl::SumSlots<Scalar, ExecutionSpace>{m_slot_grad, grad});
      Kokkos::deep_copy(space, m_host_sums, m_slot_sums);
      space.fence();
      ColumnSums sums;
      for (int s = 0; s < m_slots; ++s)
      {
        sums.interior += m_host_sums(s, 0);
        sums.boundary += m_host_sums(s, 1);
      }
      return sums;
    }
  }

  void evaluate(const ExecutionSpace &space, const vector &params,
                const Evaluation<Scalar, ExecutionSpace> &out) override
  {
    Region region("amk::FusedEngine::evaluate");
    require(m_nt == m_np, "FusedEngine::evaluate: every column must be interior (set_batch(n, n))");
    require(out.curvature.extent(0) == 0 || this->directions() > 0, "FusedEngine::evaluate: no curvature directions");
    launch(space, params, impl::NoLoss(), vector(), out); // the evaluation kernel: no loss in it
  }

private:
  /// One launch of the step kernel for the per-column loss `seeds` (impl::NoLoss: evaluation).
  template <class Seeds>
  void launch(const ExecutionSpace &space, const vector &params, const Seeds &seeds, const vector &grad,
              const Evaluation<Scalar, ExecutionSpace> &out)
  {
    const int interior_blocks = (m_nt + m_block - 1) / m_block;
    const int blocks = interior_blocks + (m_np - m_nt + m_block - 1) / m_block;
    visit(m_shape.activation,
          [&](auto act)
          {
            using Step = impl::FusedStep<Scalar, ExecutionSpace, decltype(act), Seeds, Path>;
            Step step{m_shape,  m_layout, m_block, m_nt,  m_np,        interior_blocks,
                      blocks,   m_slots,  this->directions(), params, m_input, m_directions, seeds,
                      out,      m_slot_grad, grad,      m_slot_sums};
            int team_size = m_team_size; // portable: as many threads as the kernel's registers allow
            if (Path == impl::TilePath::portable)
              team_size = std::min(
                  team_size,
                  Kokkos::TeamPolicy<ExecutionSpace>(space, m_slots, 1).team_size_max(step, Kokkos::ParallelForTag()));
            Kokkos::TeamPolicy<ExecutionSpace> team_policy(space, m_slots, team_size);
            team_policy.set_scratch_size(0, Kokkos::PerTeam(int(scratch_bytes(0))))
                .set_scratch_size(1, Kokkos::PerTeam(int(scratch_bytes(1))));
            Kokkos::parallel_for("amk::FusedEngine::step", team_policy, step);
          });
  }


  int m_block;
  impl::FusedScratch m_layout;
  int m_team_size = 1, m_slots = 1;
  matrix m_input, m_directions, m_slot_grad;
  Kokkos::View<double **, typename ExecutionSpace::memory_space> m_slot_sums;
  typename Kokkos::View<double **, typename ExecutionSpace::memory_space>::HostMirror m_host_sums;
};
} // namespace amk::nn
