#pragma once
// GemmEngine: the derivative engine of DESIGN.md §2 as a chain of KokkosBlas::gemm calls
// and one fused elementwise kernel per layer per sweep.
//
// Per call the engine holds n_p "primal" samples (columns) of which the first n_t are
// interior samples that also carry a tangent. It computes
//   forward            s(u) for all n_p samples                       (1 forward-equivalent)
//   input_gradient     g = ∇ᵤs for the n_t interior samples            (1)
//   parameter_gradient ∂/∂θ Σ_c [ c_s(c) s(u_c) + a₀(c)·g(u_c) ]        (tangent 1, reverse 1 + 2)
// where the loss writes the value seeds c_s = ∂ℓ/∂s and the tangent seeds a₀ = ∂ℓ/∂g.
// The last line is "forward-over-reverse": a forward tangent sweep along a₀ through the
// backward chain, then one reverse sweep over primal and tangent together:
//   tangent  ż_l = W_l ḣ_{l−1},  ḣ_l = σ'(z_l) ż_l,  q_l = ḡ_l ⊙ σ''(z_l) ⊙ ż_l
//   reverse  z̄_l = h̄_l ⊙ σ'(z_l) + q_l,  h̄_{l−1} = W_lᵀ z̄_l,
//            dW_l = [δ_l | z̄_l] [ḣ_{l−1} | h_{l−1}]ᵀ (ONE gemm over n_t + n_p columns),
//            db_l = z̄_l·1,
// with δ_l = ḡ_l ⊙ σ'(z_l) kept from the input-gradient sweep.
//
// Buffers per node j (sizes n_j), allocated once for the capacity (no allocation in a step):
//   H_j (n_j × (T+P))  [ḣ_j | h_j]   tangent block, then primal block (H_0 = [a₀ | u])
//   S1_j (n_j × P)     σ'(z_j) (hidden nodes; holds z_j = W h between gemm and kernel)
//   S2_j (n_j × T)     σ''(z_j) of the interior columns
//   G_j (n_j × T)      ḡ_j = ∂s/∂h_j, then q_j (G_0 = ∇ᵤs, the engine's gradient output)
//   D_j (n_j × (T+P))  [δ_j | z̄_j]; the primal block is also the scratch for ż_j and h̄_j
// Keeping each node's tangent and primal blocks adjacent is what makes dW one gemm.
#include <amk/core/error.hpp>
#include <amk/core/types.hpp>
#include <amk/nn/activation.hpp>
#include <amk/nn/batch_columns.hpp>
#include <amk/nn/impl/engine_kernels.hpp>
#include <amk/nn/mlp.hpp>
#include <vector>

namespace amk::nn
{
template <class Scalar, class ExecutionSpace = DefaultExec> class GemmEngine : public BatchColumns
{
public:
  using execution_space = ExecutionSpace;
  using memory_space = typename ExecutionSpace::memory_space;
  using value_type = Scalar;
  using matrix = Matrix<Scalar, ExecutionSpace>;
  using vector = Vector<Scalar, ExecutionSpace>;

  /// \param max_tangent [in] most interior samples per call (T)
  /// \param max_primal  [in] most samples per call, interior included (P ≥ T)
  GemmEngine(const ExecutionSpace &space, const MlpShape &shape, int max_tangent, int max_primal)
      : BatchColumns(max_tangent, max_primal), m_shape(shape)
  {
    shape.validate();
    const int nodes = shape.depth + 2;
    const std::int64_t T = max_tangent, P = max_primal;
    auto alloc = [&](const char *label, std::int64_t rows, std::int64_t cols)
    { return uninitialized<matrix>(space, label, rows, cols); };
    for (int j = 0; j < nodes; ++j)
    {
      const int n = shape.node_size(j);
      m_h.push_back(alloc("amk::GemmEngine::H", n, T + P));
      m_g.push_back(j <= shape.depth ? alloc("amk::GemmEngine::G", n, T) : matrix());
      const bool hidden = j >= 1 && j <= shape.depth;
      m_s1.push_back(hidden ? alloc("amk::GemmEngine::S1", n, P) : matrix());
      m_s2.push_back(hidden ? alloc("amk::GemmEngine::S2", n, T) : matrix());
      m_d.push_back(j >= 1 ? alloc("amk::GemmEngine::D", n, T + P) : matrix());
    }
    m_values = uninitialized<vector>(space, "amk::GemmEngine::values", P);
    m_value_seed = zeroed<vector>(space, "amk::GemmEngine::value_seed", P);
    m_ones = uninitialized<vector>(space, "amk::GemmEngine::ones", P);
    Kokkos::deep_copy(space, m_ones, Scalar(1));
  }

  const MlpShape &shape() const { return m_shape; }

  /// [out] inputs u = [x, e(t)] of the n_p samples (input_size × n_p); interior first.
  auto input() const { return columns(m_h[0], m_nt, m_nt + m_np); }
  /// [out] tangent seeds a₀ = ∂ℓ/∂g for the interior samples (input_size × n_t).
  auto tangent_seed() const { return columns(m_h[0], 0, m_nt); }
  /// [out] value seeds c_s = ∂ℓ/∂s (n_p).
  auto value_seed() const { return Kokkos::subview(m_value_seed, Kokkos::make_pair(0, m_np)); }
  /// [in] s after forward() (n_p).
  auto values() const { return Kokkos::subview(m_values, Kokkos::make_pair(0, m_np)); }
  /// [in] ∇ᵤs after input_gradient() (input_size × n_t).
  auto input_gradient() const { return columns(m_g[0], 0, m_nt); }
  /// [in] the raw network output y (output_size × n_p).
  auto output() const { return primal(m_shape.depth + 1); }

  /// Sweep 1: z_l, h_l and s for all n_p samples.
  void forward(const ExecutionSpace &space, const vector &params)
  {
    Region region("amk::GemmEngine::forward");
    const int L = m_shape.depth;
    for (int k = 0; k <= L; ++k)
    {
      const auto W = weight(m_shape, params, k);
      const auto b = bias(m_shape, params, k);
      if (k < L)
      {
        const auto z = columns(m_s1[k + 1], 0, m_np);
        gemm(space, "N", "N", Scalar(1), W, primal(k), Scalar(0), z);
        visit(m_shape.activation,
              [&](auto act) {
                impl::forward_hidden<decltype(act)>(space, m_nt, z, columns(m_s2[k + 1], 0, m_nt), primal(k + 1), b);
              });
      }
      else
      {
        gemm(space, "N", "N", Scalar(1), W, primal(k), Scalar(0), primal(k + 1));
        impl::add_bias(space, primal(k + 1), b);
      }
    }
    impl::head_value(space, m_shape.head, values(), primal(L + 1), input());
  }

  /// Sweep 2 (after forward): g = ∇ᵤs for the n_t interior samples; keeps δ_l, ḡ_l.
  void input_gradient(const ExecutionSpace &space, const vector &params)
  {
    Region region("amk::GemmEngine::input_gradient");
    const int L = m_shape.depth;
    impl::head_gradient_seed(space, m_shape.head, tangent(m_d[L + 1]), columns(primal(L + 1), 0, m_nt),
                             columns(input(), 0, m_nt));
    for (int j = L + 1; j >= 1; --j)
    {
      const auto g = columns(m_g[j - 1], 0, m_nt);
      gemm(space, "T", "N", Scalar(1), weight(m_shape, params, j - 1), tangent(m_d[j]), Scalar(0), g);
      if (j - 1 >= 1)
        impl::backward_hidden(space, tangent(m_d[j - 1]), g, columns(m_s1[j - 1], 0, m_nt));
    }
    if (m_shape.head == Head::quadratic)
      impl::head_direct_gradient(space, columns(m_g[0], 0, m_nt), columns(primal(L + 1), 0, m_nt),
                                 columns(input(), 0, m_nt));
  }

  /// Sweeps 3 and 4 (after input_gradient and after the loss wrote its seeds):
  /// grad = ∂/∂θ Σ_c [c_s(c) s_c + a₀(c)·g_c]   (overwrites grad).
  void parameter_gradient(const ExecutionSpace &space, const vector &params, const vector &grad)
  {
    Region region("amk::GemmEngine::parameter_gradient");
    tangent_sweep(space, params);
    reverse_sweep(space, params, grad);
  }

  /// Sweep 3 alone: the tangent sweep along a₀ (ḣ_l, and ḡ_l turned into q_l in place).
  void tangent_sweep(const ExecutionSpace &space, const vector &params)
  {
    const int L = m_shape.depth;
    // ḣ_0 = a₀ is already in H_0's tangent block.
    for (int j = 1; j <= L + 1; ++j)
    {
      const auto zdot = columns(m_d[j], m_nt, 2 * m_nt); // scratch: D_j's primal block
      if (j == L + 1 && m_shape.head == Head::scalar)
        break; // ẏ is only needed by the quadratic head
      gemm(space, "N", "N", Scalar(1), weight(m_shape, params, j - 1), tangent(m_h[j - 1]), Scalar(0), zdot);
      if (j <= L)
        impl::tangent_hidden(space, zdot, tangent(m_h[j]), columns(m_g[j], 0, m_nt), columns(m_s1[j], 0, m_nt),
                             columns(m_s2[j], 0, m_nt));
    }
  }

  /// Sweep 4 alone (after tangent_sweep): the reverse sweep over primal and tangent
  /// columns together, grad = [dW_l, db_l] (overwrites grad).
  void reverse_sweep(const ExecutionSpace &space, const vector &params, const vector &grad)
  {
    const int L = m_shape.depth;
    impl::head_parameter_seed(space, m_shape.head, m_nt, primal(m_d[L + 1]), value_seed(), primal(L + 1), input(),
                              tangent_seed());
    for (int j = L + 1; j >= 1; --j)
    {
      const int k = j - 1;
      const auto both = std::int64_t(m_nt) + m_np;
      const auto dW = weight(m_shape, grad, k);
      gemm(space, "N", "T", Scalar(1), columns(m_d[j], 0, both), columns(m_h[k], 0, both), Scalar(0), dW);
      gemv(space, "N", Scalar(1), primal(m_d[j]), Kokkos::subview(m_ones, Kokkos::make_pair(0, m_np)), Scalar(0),
           bias(m_shape, grad, k));
      if (k >= 1)
      {
        const auto hbar = primal(m_d[k]);
        gemm(space, "T", "N", Scalar(1), weight(m_shape, params, k), primal(m_d[j]), Scalar(0), hbar);
        impl::reverse_hidden(space, hbar, columns(m_s1[k], 0, m_np), columns(m_g[k], 0, m_nt));
      }
    }
  }

private:
  auto primal(int j) const { return columns(m_h[j], m_nt, m_nt + m_np); }
  auto primal(const matrix &m) const { return columns(m, m_nt, m_nt + m_np); }
  auto tangent(const matrix &m) const { return columns(m, 0, m_nt); }

  MlpShape m_shape;
  std::vector<matrix> m_h, m_g, m_s1, m_s2, m_d;
  vector m_values, m_value_seed, m_ones;
};
} // namespace amk::nn
