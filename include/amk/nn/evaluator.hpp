#pragma once
// The network evaluator interface: s, g = ∇ᵤs and the curvature Σ_k v_kᵀ∇ₓ²s v_k of the
// action network at given columns u = [x, e(t)], with no loss in it. Sampling, `amk
// field`/`eval` and library users evaluate through it (nn::make_evaluator,
// nn/engine_registry.hpp); the training engines (nn/engine.hpp) are evaluators too.
// A call works on n columns (set_batch(n, n)); curvature directions v_1…v_m per column
// give the Laplacian for the d axes, or a Hutchinson estimate for scaled random probes.
#include <amk/core/contracts.hpp>
#include <amk/core/error.hpp>
#include <amk/core/types.hpp>
#include <amk/nn/columns.hpp>
#include <amk/nn/mlp.hpp>

namespace amk::nn
{
/// The most columns an engine's buffers hold (it allocates once; no allocation in a step).
struct Capacity
{
  int max_tangent = 0; ///< most interior columns per call (T)
  int max_primal = 1;  ///< most columns per call, interior included (P ≥ T)
  int directions = 0;  ///< second-order directions per interior column (m; 0: no curvature)
};

/// Where Evaluator::evaluate writes (any View may be empty: not wanted), n = n_p columns.
template <class Scalar, class ExecutionSpace> struct Evaluation
{
  Vector<Scalar, ExecutionSpace> value;     ///< s (n)
  Matrix<Scalar, ExecutionSpace> gradient;  ///< ∇ᵤs (input_size × n)
  Vector<Scalar, ExecutionSpace> curvature; ///< Σ_k v_kᵀ∇ₓ²s v_k (n; needs directions)
};

template <class Scalar, class ExecutionSpace> class Evaluator
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::nn::Evaluator");

public:
  using execution_space = ExecutionSpace;
  using value_type = Scalar;
  using vector = Vector<Scalar, ExecutionSpace>;
  using matrix_ref = MatrixRef<Scalar, ExecutionSpace>;

  Evaluator(const MlpShape &shape, const Capacity &capacity) : m_shape(shape), m_capacity(capacity)
  {
    shape.validate();
    require(capacity.max_tangent >= 0 && capacity.max_primal >= capacity.max_tangent && capacity.max_primal >= 1 &&
                capacity.directions >= 0,
            "engine: capacity needs max_primal >= max_tangent >= 0 and directions >= 0");
  }
  virtual ~Evaluator() = default;
  Evaluator(const Evaluator &) = delete;
  Evaluator &operator=(const Evaluator &) = delete;

  /// The engine's registry name ("gemm", "fused", …).
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
  /// The current calls' columns (nn/columns.hpp).
  ColumnLayout columns() const { return ColumnLayout{m_nt, m_capacity.directions, m_np}; }

  /// [out] inputs u = [x, e(t)] of the n_p columns (input_size × n_p), interior first.
  virtual matrix_ref input() const = 0;
  /// [out] the second-order directions (input_size × m·n_t): column k·n_t + c is direction k
  /// of interior column c (its time rows must be zero).
  virtual matrix_ref direction_input() const = 0;

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
