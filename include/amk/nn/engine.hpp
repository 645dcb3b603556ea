#pragma once
// The derivative engine interface (DESIGN.md §2): ONE interface with two implementations,
// GemmEngine (library GEMMs, wide networks) and FusedEngine (the whole chain in one team
// kernel, narrow networks), as tiny-cuda-nn's CutlassMLP and FullyFusedMLP share Network.
//
// A call works on n_p samples (columns); the first n_t are interior samples that carry the
// derivatives a loss needs, the others are value-only (boundary) columns. For every column
// the engine computes s(u) with u = [x, e(t)]; for interior columns also g = ∇ᵤs and, when
// the engine has second-order directions v_1…v_m, the curvature Σ_k v_kᵀ ∇ₓ²s v_k (the
// Laplacian for the axes, a Hutchinson estimate for scaled random probes). The LOSS is a
// per-column functor (am::ActionLoss) with
//   Scalar interior(c, s, g, lap, a0, cs, clap)  term of interior column c; writes its seeds
//                                                 a0 = ∂ℓ/∂g (input_size), cs = ∂ℓ/∂s, clap = ∂ℓ/∂lap
//   Scalar boundary(c, s, cs)                     term of value column c; writes cs = ∂ℓ/∂s
// and gradient() returns the sums of those terms and ∂/∂θ Σ_c ℓ_c, whatever the functor.
#include <amk/core/contracts.hpp>
#include <amk/core/error.hpp>
#include <amk/core/types.hpp>
#include <amk/nn/mlp.hpp>

namespace amk::nn
{
/// Sums of a loss functor's per-column terms.
struct ColumnSums
{
  double interior = 0, boundary = 0;
  double total() const { return interior + boundary; }
};

/// The most columns an engine's buffers hold (it allocates once; no allocation in a step).
struct Capacity
{
  int max_tangent = 0;   ///< most interior columns per call (T)
  int max_primal = 1;    ///< most columns per call, interior included (P ≥ T)
  int directions = 0;    ///< second-order directions per interior column (m; 0: no curvature)
};

/// Where Engine::evaluate writes (any View may be empty: not wanted), n = n_p columns.
template <class Scalar, class ExecutionSpace> struct Evaluation
{
  Vector<Scalar, ExecutionSpace> value;     ///< s (n)
  Matrix<Scalar, ExecutionSpace> gradient;  ///< ∇ᵤs (input_size × n)
  Vector<Scalar, ExecutionSpace> curvature; ///< Σ_k v_kᵀ∇ₓ²s v_k (n; needs directions)
};

template <class Scalar, class ExecutionSpace, class Loss> class Engine
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::nn::Engine");

public:
  using execution_space = ExecutionSpace;
  using value_type = Scalar;
  using vector = Vector<Scalar, ExecutionSpace>;
  using matrix_ref = MatrixRef<Scalar, ExecutionSpace>;

  Engine(const MlpShape &shape, const Capacity &capacity) : m_shape(shape), m_capacity(capacity)
  {
    shape.validate();
    require(capacity.max_tangent >= 0 && capacity.max_primal >= capacity.max_tangent && capacity.max_primal >= 1 &&
                capacity.directions >= 0,
            "engine: capacity needs max_primal >= max_tangent >= 0 and directions >= 0");
  }
  virtual ~Engine() = default;
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  /// "gemm" or "fused".
  virtual const char *name() const = 0;
  const MlpShape &shape() const { return m_shape; }
  const Capacity &capacity() const { return m_capacity; }
  int directions() const { return m_capacity.directions; }

  /// Sets the column counts of the next calls: n_t interior among n_p columns.
  void set_batch(int n_tangent, int n_primal)
  {
    require(n_tangent >= 0 && n_tangent <= m_capacity.max_tangent && n_primal >= n_tangent && n_primal >= 1 &&
                n_primal <= m_capacity.max_primal,
            "engine: batch exceeds the engine's capacity");
    m_nt = n_tangent;
    m_np = n_primal;
  }
  int n_tangent() const { return m_nt; }
  int n_primal() const { return m_np; }

  /// [out] inputs u = [x, e(t)] of the n_p columns (input_size × n_p), interior first.
  virtual matrix_ref input() const = 0;
  /// [out] the second-order directions (input_size × m·n_t): column k·n_t + c is direction k
  /// of interior column c (its time rows must be zero).
  virtual matrix_ref direction_input() const = 0;

  /// The loss terms of the current columns and grad = ∂/∂θ Σ_c ℓ_c (overwritten).
  virtual ColumnSums gradient(const ExecutionSpace &space, const vector &params, const Loss &loss,
                              const vector &grad) = 0;
  /// s, ∇ᵤs and the curvature of the current columns (call set_batch(n, n) first: every
  /// column is interior).
  virtual void evaluate(const ExecutionSpace &space, const vector &params,
                        const Evaluation<Scalar, ExecutionSpace> &out) = 0;

protected:
  /// Columns [begin, end) of a column-major buffer as a matrix_ref.
  template <class M> static matrix_ref block(const M &m, std::int64_t begin, std::int64_t end)
  {
    return matrix_ref(m.data() + begin * std::int64_t(m.extent(0)), m.extent(0), end - begin);
  }

  MlpShape m_shape;
  Capacity m_capacity;
  int m_nt = 0, m_np = 0;
};
} // namespace amk::nn
