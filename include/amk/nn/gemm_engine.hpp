#pragma once
// GemmEngine: the derivative engine of DESIGN.md §2 as a chain of KokkosBlas::gemm calls
// and one fused elementwise kernel per layer per sweep (nn/engine.hpp is the interface,
// GemmEngineEntry its registry entry: any network, on every back end).
//
// Per call the engine holds n_p "primal" columns of which the first n_t are interior ones
// that also carry tangents. gradient() computes ∂/∂θ Σ_c ℓ_c for a per-column loss ℓ of
// (s, g = ∇ᵤs, lap = Σ_k v_kᵀ∇ₓ²s v_k) by forward-over-reverse:
//   forward     z_l = W_l h_{l−1} + b_l, h_l = σ(z_l) (σ', σ'', σ''' kept)
//   backward    ḡ_l = ∂s/∂h_l, δ_l = ḡ_l ⊙ σ'(z_l), g = ḡ_0
//   directions  ż_l,k = W_l ḣ_{l−1,k}, ḣ_l,k = σ'(z_l) ż_l,k from ḣ_0,k = v_k, and
//               lap = Σ_l ḡ_l·(σ''(z_l) Σ_k ż_l,k²)  (+ Σ_k |v_x,k − ẏ_k|² for the quadratic head)
//   seeds       the loss writes a₀ = ∂ℓ/∂g, c_s = ∂ℓ/∂s, clap = ∂ℓ/∂lap per column
//   tangent     the reverse of the backward chain, a forward sweep: ż_l = W_l γ_{l−1},
//               γ_l = σ' ż_l + clap σ'' S_l (S_l = Σ_k ż_l,k²), γ_0 = a₀; extra z-adjoint
//               q_l = ḡ_l σ'' ż_l + clap ḡ_l σ''' S_l
//   reverse     one sweep over all columns: z̄_l = h̄_l σ' + q_l + Σ_k σ'' ż_l,k ḣ̄_l,k,
//               ζ_l,k = σ' ḣ̄_l,k + 2 clap ḡ_l σ'' ż_l,k (the directions' adjoints),
//               [ḣ̄ | h̄]_{l−1} = W_lᵀ [ζ | z̄]_l, and
//               dW_l = [δ_l | ζ_l,k | z̄_l][γ_{l−1} | ḣ_{l−1,k} | h_{l−1}]ᵀ as ONE gemm,
//               db_l = z̄_l·1
// Without directions (plain and unbalanced AM) this is the six-forward-equivalent step;
// each direction adds about three (tangent, its reverse, its share of dW).
//
// Buffers per node j (sizes n_j), allocated once for the capacity; within each, the column
// blocks are packed by the current counts as nn/columns.hpp lays them out: tangents,
// directions, primal.
//   H_j  [γ_j | ḣ_j,k | h_j]   (H_0 = [a₀ | v_k | u])
//   D_j  [δ_j | ζ_j,k | z̄_j]   (the primal block is also the scratch for ż_j and h̄_j)
//   S1_j σ'(z_j) (n_p; holds z_j between gemm and kernel), S2_j σ'', S3_j σ''' (n_t)
//   G_j  ḡ_j (n_t; G_0 = ∇ᵤs, the engine's gradient output), Q_j q_j (n_t; without
//        directions q_j overwrites ḡ_j in G_j), Z_j ż_j,k (m·n_t)
// Keeping each node's blocks adjacent is what makes dW one gemm.
#include <amk/core/error.hpp>
#include <amk/core/types.hpp>
#include <amk/nn/activation.hpp>
#include <amk/nn/engine.hpp>
#include <amk/nn/impl/gemm_kernels.hpp>
#include <amk/nn/mlp.hpp>
#include <memory>
#include <string>
#include <vector>

namespace amk::nn
{
template <class Scalar, class ExecutionSpace, class Loss> class GemmEngine;

/// The GEMM engine in the registry (nn/engine_registry.hpp): every network, loss and back
/// end; the fallback wherever no specialised engine suits.
struct GemmEngineEntry
{
  static constexpr const char *name = "gemm";
  static constexpr const char *summary = "library GEMMs (cuBLAS, rocBLAS, host BLAS), any size";
  static constexpr bool fallback = true;
  /// "" where the engine runs `shape` at `capacity`, else why not.
  template <class Scalar, class ExecutionSpace> static std::string unsupported(const MlpShape &, const Capacity &)
  {
    return "";
  }
  /// Whether --engine auto times it: always.
  template <class Scalar, class ExecutionSpace> static bool fits(const MlpShape &, const Capacity &) { return true; }
  /// Whether the untimed rule (no measurement) picks it over the fallback: it is the fallback.
  template <class Scalar, class ExecutionSpace> static bool suits(const MlpShape &, const Capacity &) { return false; }
  template <class Scalar, class ExecutionSpace, class Loss>
  static std::unique_ptr<Engine<Scalar, ExecutionSpace, Loss>> make(const ExecutionSpace &space, const MlpShape &shape,
                                                                   const Capacity &capacity)
  {
    return std::make_unique<GemmEngine<Scalar, ExecutionSpace, Loss>>(space, shape, capacity);
  }
};

template <class Scalar, class ExecutionSpace, class Loss>
class GemmEngine final : public Engine<Scalar, ExecutionSpace, Loss>
{
  using Base = Engine<Scalar, ExecutionSpace, Loss>;
  using Base::m_np;
  using Base::m_nt;
  using Base::m_shape;

public:
  using matrix = Matrix<Scalar, ExecutionSpace>;
  using vector = Vector<Scalar, ExecutionSpace>;
  using typename Base::matrix_ref;

  GemmEngine(const ExecutionSpace &space, const MlpShape &shape, const Capacity &capacity) : Base(shape, capacity)
  {
    const int nodes = shape.depth + 2, m = capacity.directions;
    const std::int64_t T = capacity.max_tangent, P = capacity.max_primal, MT = std::int64_t(m) * T;
    auto alloc = [&](const char *label, std::int64_t rows, std::int64_t cols)
    { return uninitialized<matrix>(space, label, rows, cols); };
    for (int j = 0; j < nodes; ++j)
    {
      const int n = shape.node_size(j);
      const bool hidden = j >= 1 && j <= shape.depth, output = j == shape.depth + 1;
      m_h.push_back(alloc("amk::GemmEngine::H", n, T + MT + P));
      m_g.push_back(!output ? alloc("amk::GemmEngine::G", n, T) : matrix());
      m_s1.push_back(hidden ? alloc("amk::GemmEngine::S1", n, P) : matrix());
      m_s2.push_back(hidden ? alloc("amk::GemmEngine::S2", n, T) : matrix());
      m_s3.push_back(hidden && m > 0 ? alloc("amk::GemmEngine::S3", n, T) : matrix());
      m_q.push_back(hidden && m > 0 ? alloc("amk::GemmEngine::Q", n, T) : matrix());
      const bool zdir = m > 0 && (hidden || (output && shape.head == Head::quadratic));
      m_z.push_back(zdir ? alloc("amk::GemmEngine::Z", n, MT) : matrix());
      m_d.push_back(j >= 1 ? alloc("amk::GemmEngine::D", n, T + MT + P) : matrix());
    }
    m_values = uninitialized<vector>(space, "amk::GemmEngine::values", P);
    m_value_seed = zeroed<vector>(space, "amk::GemmEngine::value_seed", P);
    m_lap = zeroed<vector>(space, "amk::GemmEngine::curvature", T);
    m_clap = zeroed<vector>(space, "amk::GemmEngine::curvature_seed", T);
    m_ones = uninitialized<vector>(space, "amk::GemmEngine::ones", P);
    Kokkos::deep_copy(space, m_ones, Scalar(1));
  }

  const char *name() const override { return GemmEngineEntry::name; }
  matrix_ref input() const override { return primal(m_h[0]); }
  matrix_ref direction_input() const override { return dirs(m_h[0]); }

  ColumnSums gradient(const ExecutionSpace &space, const vector &params, const Loss &loss,
                      const vector &grad) override
  {
    if constexpr (impl::is_evaluation_only<Loss>)
      throw Error("GemmEngine::gradient: an evaluator (nn::make_evaluator) has no loss");
    else
    {
      Region region("amk::GemmEngine::gradient");
      forward(space, params);
      input_gradient(space, params);
      curvature(space, params);
      const ColumnSums sums = seeds(space, loss);
      tangent_sweep(space, params);
      reverse_sweep(space, params, grad);
      return sums;
    }
  }

  void evaluate(const ExecutionSpace &space, const vector &params,
                const Evaluation<Scalar, ExecutionSpace> &out) override
  {
    Region region("amk::GemmEngine::evaluate");
    require(m_nt == m_np, "GemmEngine::evaluate: every column must be interior (set_batch(n, n))");
    forward(space, params);
    input_gradient(space, params);
    curvature(space, params);
    if (out.value.extent(0) > 0)
      Kokkos::deep_copy(space, out.value, values());
    if (out.gradient.extent(1) > 0)
      Kokkos::deep_copy(space, out.gradient, input_gradient());
    if (out.curvature.extent(0) > 0)
      Kokkos::deep_copy(space, out.curvature, Kokkos::subview(m_lap, Kokkos::make_pair(0, m_nt)));
  }

  // --- the sweeps one by one (perf/ times them; gradient() is their composition) -------

  /// [in] s after forward() (n_p).
  auto values() const { return Kokkos::subview(m_values, Kokkos::make_pair(0, m_np)); }
  /// [in] ∇ᵤs after input_gradient() (input_size × n_t).
  matrix_ref input_gradient() const { return Base::block(m_g[0], 0, m_nt); }
  /// [in] Σ_k v_kᵀ∇ₓ²s v_k after curvature() (n_t).
  auto curvature_values() const { return Kokkos::subview(m_lap, Kokkos::make_pair(0, m_nt)); }

  /// Sweep 1: z_l, h_l and s for all n_p samples.
  void forward(const ExecutionSpace &space, const vector &params)
  {
    const int L = m_shape.depth;
    for (int k = 0; k <= L; ++k)
    {
      const auto W = weight(m_shape, params, k);
      const auto b = bias(m_shape, params, k);
      if (k < L)
      {
        const auto z = Base::block(m_s1[k + 1], 0, m_np);
        gemm(space, "N", "N", Scalar(1), W, primal(m_h[k]), Scalar(0), z);
        const auto s3 = this->directions() > 0 ? Base::block(m_s3[k + 1], 0, m_nt) : matrix_ref();
        visit(m_shape.activation,
              [&](auto act)
              {
                impl::forward_hidden<decltype(act)>(space, m_nt, z, Base::block(m_s2[k + 1], 0, m_nt), s3,
                                                    primal(m_h[k + 1]), b);
              });
      }
      else
      {
        gemm(space, "N", "N", Scalar(1), W, primal(m_h[k]), Scalar(0), primal(m_h[k + 1]));
        impl::add_bias(space, primal(m_h[k + 1]), b);
      }
    }
    impl::head_value(space, m_shape.head, values(), primal(m_h[L + 1]), input());
  }

  /// Sweep 2 (after forward): g = ∇ᵤs for the n_t interior samples; keeps δ_l, ḡ_l.
  void input_gradient(const ExecutionSpace &space, const vector &params)
  {
    const int L = m_shape.depth;
    const auto y = Base::block(primal(m_h[L + 1]), 0, m_nt), u = Base::block(input(), 0, m_nt);
    impl::head_gradient_seed(space, m_shape.head, tangent(m_d[L + 1]), y, u);
    for (int j = L + 1; j >= 1; --j)
    {
      const auto g = Base::block(m_g[j - 1], 0, m_nt);
      gemm(space, "T", "N", Scalar(1), weight(m_shape, params, j - 1), tangent(m_d[j]), Scalar(0), g);
      if (j - 1 >= 1)
        impl::backward_hidden(space, tangent(m_d[j - 1]), g, Base::block(m_s1[j - 1], 0, m_nt));
    }
    if (m_shape.head == Head::quadratic)
      impl::head_direct_gradient(space, m_shape.head, input_gradient(), y, u);
  }

  /// Sweep 2b (after input_gradient, with directions): the direction tangents ż_l,k, ḣ_l,k
  /// and the curvature lap = Σ_k v_kᵀ∇ₓ²s v_k of each interior column.
  void curvature(const ExecutionSpace &space, const vector &params)
  {
    if (this->directions() == 0 || m_nt == 0)
      return;
    const int L = m_shape.depth;
    const auto lap = Kokkos::subview(m_lap, Kokkos::make_pair(0, m_nt));
    Kokkos::deep_copy(space, lap, Scalar(0));
    for (int j = 1; j <= L; ++j)
    {
      const auto z = zdir(j);
      gemm(space, "N", "N", Scalar(1), weight(m_shape, params, j - 1), dirs(m_h[j - 1]), Scalar(0), z);
      impl::direction_hidden(space, m_nt, z, dirs(m_h[j]), Base::block(m_s1[j], 0, m_nt));
      impl::curvature_hidden(space, m_nt, lap, Base::block(m_g[j], 0, m_nt), Base::block(m_s2[j], 0, m_nt), z);
    }
    if (m_shape.head == Head::quadratic)
    {
      const auto ydot = zdir(L + 1);
      gemm(space, "N", "N", Scalar(1), weight(m_shape, params, L), dirs(m_h[L]), Scalar(0), ydot);
      impl::curvature_head(space, m_nt, lap, direction_input(), ydot);
    }
  }

  /// The loss's terms and seeds (after forward, input_gradient and curvature).
  ColumnSums seeds(const ExecutionSpace &space, const Loss &loss)
  {
    const auto g = input_gradient();
    const auto a0 = tangent(m_h[0]);
    const auto cs = Kokkos::subview(m_value_seed, Kokkos::make_pair(0, m_np));
    const auto s = values();
    const auto lap = m_lap, clap = m_clap;
    const bool curved = this->directions() > 0;
    ColumnSums sums;
    Kokkos::parallel_reduce(
        "amk::GemmEngine::loss_interior", policy(space, m_nt),
        KOKKOS_LAMBDA(std::int64_t c, double &acc) {
          Scalar cl = 0;
          acc += double(loss.interior(c, s(c), &g(0, c), curved ? lap(c) : Scalar(0), &a0(0, c), cs(c), cl));
          clap(c) = cl;
        },
        sums.interior);
    Kokkos::parallel_reduce(
        "amk::GemmEngine::loss_boundary", Kokkos::RangePolicy<ExecutionSpace>(space, m_nt, m_np),
        KOKKOS_LAMBDA(std::int64_t c, double &acc) { acc += double(loss.boundary(c, s(c), cs(c))); }, sums.boundary);
    return sums;
  }

  /// Sweep 3 (after the seeds): the tangent sweep along a₀ (γ_l; q_l).
  void tangent_sweep(const ExecutionSpace &space, const vector &params)
  {
    const int L = m_shape.depth;
    const bool curved = this->directions() > 0;
    const auto clap = Kokkos::subview(m_clap, Kokkos::make_pair(0, m_nt));
    for (int j = 1; j <= L + 1; ++j)
    {
      if (j == L + 1 && m_shape.head == Head::scalar)
        break; // ẏ is only needed by the quadratic head
      const auto zdot = Base::block(primal(m_d[j]), 0, m_nt); // scratch: D_j's primal block
      gemm(space, "N", "N", Scalar(1), weight(m_shape, params, j - 1), tangent(m_h[j - 1]), Scalar(0), zdot);
      if (j > L)
        break;
      const auto s1 = Base::block(m_s1[j], 0, m_nt), s2 = Base::block(m_s2[j], 0, m_nt);
      const auto g = Base::block(m_g[j], 0, m_nt);
      if (curved)
        impl::tangent_hidden_curvature(space, m_nt, zdot, tangent(m_h[j]), g, Base::block(m_q[j], 0, m_nt), s1, s2,
                                       Base::block(m_s3[j], 0, m_nt), zdir(j), clap);
      else
        impl::tangent_hidden(space, zdot, tangent(m_h[j]), g, s1, s2);
    }
  }

  /// Sweep 4 (after tangent_sweep): one reverse sweep over every column,
  /// grad = [dW_l, db_l] (overwritten).
  void reverse_sweep(const ExecutionSpace &space, const vector &params, const vector &grad)
  {
    const int L = m_shape.depth, m = this->directions();
    const bool curved = m > 0 && m_nt > 0;
    const auto clap = Kokkos::subview(m_clap, Kokkos::make_pair(0, m_nt));
    const auto cs = Kokkos::subview(m_value_seed, Kokkos::make_pair(0, m_np));
    impl::head_parameter_seed(space, m_shape.head, m_nt, primal(m_d[L + 1]), cs, primal(m_h[L + 1]), input(),
                              tangent(m_h[0]));
    if (curved)
    {
      if (m_shape.head == Head::quadratic)
        impl::head_direction_seed(space, m_shape.head, m_nt, dirs(m_d[L + 1]), direction_input(), zdir(L + 1),
                                  clap);
      else
        Kokkos::deep_copy(space, dirs(m_d[L + 1]), Scalar(0)); // s = y is linear in y
    }
    const std::int64_t all = this->columns().total();
    for (int j = L + 1; j >= 1; --j)
    {
      const int k = j - 1;
      gemm(space, "N", "T", Scalar(1), Base::block(m_d[j], 0, all), Base::block(m_h[k], 0, all), Scalar(0),
           weight(m_shape, grad, k));
      gemv(space, "N", Scalar(1), primal(m_d[j]), Kokkos::subview(m_ones, Kokkos::make_pair(0, m_np)), Scalar(0),
           bias(m_shape, grad, k));
      if (k == 0)
        continue;
      // [ḣ̄_k | h̄] = Wᵀ [ζ_k | z̄] in place, then the elementwise reverse
      const auto after = Base::block(m_d[k], m_nt, all);
      gemm(space, "T", "N", Scalar(1), weight(m_shape, params, k), Base::block(m_d[j], m_nt, all), Scalar(0), after);
      const auto s1 = Base::block(m_s1[k], 0, m_np);
      if (curved)
        impl::reverse_hidden_curvature(space, m_nt, m_np, dirs(m_d[k]), primal(m_d[k]), s1,
                                       Base::block(m_s2[k], 0, m_nt), Base::block(m_g[k], 0, m_nt),
                                       Base::block(m_q[k], 0, m_nt), zdir(k), clap);
      else
        impl::reverse_hidden(space, primal(m_d[k]), s1, Base::block(m_g[k], 0, m_nt));
    }
  }

private:
  matrix_ref tangent(const matrix &m) const { return Base::block(m, 0, m_nt); }
  matrix_ref dirs(const matrix &m) const
  {
    const ColumnLayout c = this->columns();
    return Base::block(m, c.directions_begin(), c.primal_begin());
  }
  matrix_ref primal(const matrix &m) const
  {
    const ColumnLayout c = this->columns();
    return Base::block(m, c.primal_begin(), c.total());
  }
  matrix_ref zdir(int j) const { return Base::block(m_z[j], 0, this->columns().direction_columns()); }

  std::vector<matrix> m_h, m_g, m_s1, m_s2, m_s3, m_q, m_z, m_d;
  vector m_values, m_value_seed, m_lap, m_clap, m_ones;
};
} // namespace amk::nn
