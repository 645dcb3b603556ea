#pragma once
// The derivative engine interface (DESIGN.md §2): an Evaluator (nn/evaluator.hpp) that also
// computes a training loss and its parameter gradient. ONE interface, registered
// implementations (nn/engine_registry.hpp: GemmEngine for library GEMMs, FusedEngine for
// the whole chain in one team kernel, the staged engine for that kernel shaped for GPUs), as
// tiny-cuda-nn's CutlassMLP and FullyFusedMLP share Network.
//
// Of the n_p columns of a call the first n_t are interior ones that carry the derivatives a
// loss needs; the others are value-only (boundary) columns. The LOSS is a per-column functor
// (am::ActionLoss) with
//   Scalar interior(c, s, g, lap, a0, cs, clap)  term of interior column c; writes its seeds
//                                                 a0 = ∂ℓ/∂g (input_size), cs = ∂ℓ/∂s, clap = ∂ℓ/∂lap
//   Scalar boundary(c, s, cs)                     term of value column c; writes cs = ∂ℓ/∂s
// and gradient() returns the sums of those terms and ∂/∂θ Σ_c ℓ_c, whatever the functor.
#include <amk/nn/evaluator.hpp>
#include <type_traits>

namespace amk::impl
{
/// The loss of an evaluation-only engine (nn::make_evaluator): there is none, and its
/// gradient() refuses; only the evaluation kernels are compiled for it.
struct NoLoss
{
};
template <class Loss> inline constexpr bool is_evaluation_only = std::is_same_v<Loss, NoLoss>;
} // namespace amk::impl

namespace amk::nn
{
/// Sums of a loss functor's per-column terms.
struct ColumnSums
{
  double interior = 0, boundary = 0;
  double total() const { return interior + boundary; }
};

template <class Scalar, class ExecutionSpace, class Loss> class Engine : public Evaluator<Scalar, ExecutionSpace>
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::nn::Engine");

public:
  using typename Evaluator<Scalar, ExecutionSpace>::vector;
  using Evaluator<Scalar, ExecutionSpace>::Evaluator;

  /// The loss terms of the current columns and grad = ∂/∂θ Σ_c ℓ_c (overwritten).
  virtual ColumnSums gradient(const ExecutionSpace &space, const vector &params, const Loss &loss,
                              const vector &grad) = 0;
};
} // namespace amk::nn
