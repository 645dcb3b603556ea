#pragma once
// The fused elementwise kernels of GemmEngine: one launch per layer per sweep, each doing
// all the pointwise work of that sweep. σ' and σ'' (and σ''' when the loss needs the
// curvature) are evaluated once, in the forward sweep (one exp per element for SiLU), and
// stored for the later sweeps. Direction columns (curvature) are laid out direction-major:
// column k·n_t + c is direction k of interior column c, whose σ', σ'' sit in column c.
// All matrices of one node share the leading dimension n (column-major, n × columns), so
// the kernels without a row dependence run over flat indices: no index arithmetic.
#include <amk/core/error.hpp>
#include <amk/core/types.hpp>
#include <amk/nn/head.hpp>
#include <amk/nn/mlp.hpp>

namespace amk::impl
{
/// A column block of an (n × cols) column-major matrix as one contiguous 1-D View.
template <class V> auto flat(const V &m)
{
  using F = Kokkos::View<typename V::value_type *, typename V::memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  require(m.extent(1) <= 1 || std::size_t(m.stride(1)) == m.extent(0), "amk::impl::flat: columns are not contiguous");
  return F(m.data(), m.extent(0) * m.extent(1));
}

/// Runs f(r, c) over a (rows × cols) column-major index space. On host back ends one
/// iteration is a whole column (the inner loop over contiguous rows vectorises, and no
/// index is divided); on GPUs a 2-D range whose row index runs fastest (coalesced).
template <class Exec, class F>
void for_each_entry(const char *label, const Exec &space, std::int64_t rows, std::int64_t cols, const F &f)
{
  if (rows * cols == 0)
    return;
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename Exec::memory_space>::accessible)
    Kokkos::parallel_for(
        label, policy(space, cols), KOKKOS_LAMBDA(std::int64_t c) {
          for (std::int64_t r = 0; r < rows; ++r)
            f(r, c);
        });
  else
    Kokkos::parallel_for(label,
                         Kokkos::MDRangePolicy<Exec, Kokkos::Rank<2, Kokkos::Iterate::Left, Kokkos::Iterate::Left>,
                                               Kokkos::IndexType<std::int64_t>>(space, {0, 0}, {rows, cols}),
                         f);
}

/// Hidden layer forward, given z = W h_prev (n × np) in s1:
///   z += b;  h = σ(z);  s1 = σ'(z);  s2 = σ''(z) [and s3 = σ'''(z) when s3 is not empty]
///   on the first nt (interior) columns
/// On host back ends a column at a time through restrict pointers, so that the loop over
/// its contiguous rows vectorises (the columns' storage never overlaps).
template <class A, class Exec, class S1, class S2, class H, class B>
void forward_hidden(const Exec &space, std::int64_t nt, const S1 &s1, const S2 &s2, const S2 &s3, const H &h,
                    const B &b)
{
  using T = typename S1::non_const_value_type;
  const bool third = s3.extent(1) > 0;
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename Exec::memory_space>::accessible)
  {
    const std::int64_t n = s1.extent(0);
    Kokkos::parallel_for(
        "amk::GemmEngine::forward", policy(space, s1.extent(1)), KOKKOS_LAMBDA(std::int64_t c) {
          T *KOKKOS_RESTRICT z = &s1(0, c);
          T *KOKKOS_RESTRICT hc = &h(0, c);
          const T *KOKKOS_RESTRICT bias = b.data();
          if (c < nt)
          {
            T *KOKKOS_RESTRICT z2 = &s2(0, c);
            if (third)
            {
              T *KOKKOS_RESTRICT z3 = &s3(0, c);
              for (std::int64_t r = 0; r < n; ++r)
                z3[r] = A::d3(z[r] + bias[r]);
            }
            for (std::int64_t r = 0; r < n; ++r)
              A::eval(z[r] + bias[r], hc[r], z[r], z2[r]);
          }
          else
            for (std::int64_t r = 0; r < n; ++r)
            {
              T d2;
              A::eval(z[r] + bias[r], hc[r], z[r], d2);
            }
        });
  }
  else
    for_each_entry(
        "amk::GemmEngine::forward", space, s1.extent(0), s1.extent(1), KOKKOS_LAMBDA(std::int64_t r, std::int64_t c) {
          T f, d1, d2;
          const T z = s1(r, c) + b(r);
          A::eval(z, f, d1, d2);
          h(r, c) = f;
          s1(r, c) = d1;
          if (c < nt)
          {
            s2(r, c) = d2;
            if (third)
              s3(r, c) = A::d3(z);
          }
        });
}

/// Output layer forward: y ← y + b
template <class Exec, class Y, class B> void add_bias(const Exec &space, const Y &y, const B &b)
{
  for_each_entry(
      "amk::GemmEngine::output_bias", space, y.extent(0), y.extent(1),
      KOKKOS_LAMBDA(std::int64_t r, std::int64_t c) { y(r, c) += b(r); });
}

/// s = φ(x, y) (nn/head.hpp)   (np)
template <class Exec, class S, class Y, class U>
void head_value(const Exec &space, nn::Head head, const S &s, const Y &y, const U &u)
{
  const int m = int(y.extent(0));
  const nn::HeadRule rule(head);
  Kokkos::parallel_for(
      "amk::GemmEngine::head_value", policy(space, s.extent(0)), KOKKOS_LAMBDA(std::int64_t c) {
        typename S::non_const_value_type squares = 0;
        for (int r = 0; rule.quadratic && r < m; ++r)
          squares += nn::HeadRule::square(u(r, c), y(r, c));
        s(c) = rule.value(y(0, c), squares);
      });
}

/// Reverse seed ∂φ/∂y   (m × nt)
template <class Exec, class D, class Y, class U>
void head_gradient_seed(const Exec &space, nn::Head head, const D &dy, const Y &y, const U &u)
{
  const nn::HeadRule rule(head);
  for_each_entry(
      "amk::GemmEngine::head_gradient_seed", space, dy.extent(0), dy.extent(1),
      KOKKOS_LAMBDA(std::int64_t r, std::int64_t c) { dy(r, c) = rule.output_seed(u(r, c), y(r, c)); });
}

/// Input-gradient reverse: δ = ḡ ⊙ σ'(z)   (n × nt, flat)
template <class Exec, class D, class G, class S1>
void backward_hidden(const Exec &space, const D &delta, const G &g, const S1 &s1)
{
  const auto d = flat(delta);
  const auto gf = flat(g);
  const auto sf = flat(s1);
  Kokkos::parallel_for(
      "amk::GemmEngine::input_gradient", policy(space, d.extent(0)),
      KOKKOS_LAMBDA(std::int64_t i) { d(i) = gf(i) * sf(i); });
}

/// The head's direct term of ∇ᵤs: g_x += ∂φ/∂x (quadratic head only)   (d × nt)
template <class Exec, class G, class Y, class U>
void head_direct_gradient(const Exec &space, nn::Head head, const G &g, const Y &y, const U &u)
{
  const nn::HeadRule rule(head);
  for_each_entry(
      "amk::GemmEngine::head_direct_gradient", space, y.extent(0), g.extent(1),
      KOKKOS_LAMBDA(std::int64_t r, std::int64_t c) { g(r, c) += rule.direct_gradient(u(r, c), y(r, c)); });
}

/// Tangent sweep along a₀: given ż = W ḣ_prev, set ḣ = σ'(z) ż and turn ḡ into the
/// second-order adjoint q = ḡ ⊙ σ''(z) ⊙ ż   (n × nt, flat)
template <class Exec, class ZD, class HD, class G, class S1, class S2>
void tangent_hidden(const Exec &space, const ZD &zdot, const HD &hdot, const G &g, const S1 &s1, const S2 &s2)
{
  const auto zd = flat(zdot);
  const auto hd = flat(hdot);
  const auto gf = flat(g);
  const auto d1 = flat(s1);
  const auto d2 = flat(s2);
  Kokkos::parallel_for(
      "amk::GemmEngine::tangent", policy(space, zd.extent(0)), KOKKOS_LAMBDA(std::int64_t i) {
        const auto z = zd(i);
        hd(i) = d1(i) * z;
        gf(i) *= d2(i) * z;
      });
}

/// Direction tangents through a hidden layer: given ż = W ḣ_prev (n × m·nt, in zdot),
/// ḣ(r, k·nt + c) = σ'(z)(r, c) ż(r, k·nt + c)
template <class Exec, class ZD, class HD, class S1>
void direction_hidden(const Exec &space, std::int64_t nt, const ZD &zdot, const HD &hdot, const S1 &s1)
{
  for_each_entry(
      "amk::GemmEngine::directions", space, zdot.extent(0), zdot.extent(1),
      KOKKOS_LAMBDA(std::int64_t r, std::int64_t kc) { hdot(r, kc) = s1(r, kc % nt) * zdot(r, kc); });
}

/// The curvature's share of one hidden layer: lap(c) += Σ_r ḡ σ''(z) Σ_k ż_k²  (nt columns).
/// Each column is one thread's: no atomics.
template <class Exec, class L, class G, class S2, class ZD>
void curvature_hidden(const Exec &space, std::int64_t nt, const L &lap, const G &g, const S2 &s2, const ZD &zdot)
{
  const std::int64_t n = g.extent(0), m = nt > 0 ? std::int64_t(zdot.extent(1)) / nt : 0;
  Kokkos::parallel_for(
      "amk::GemmEngine::curvature", policy(space, nt), KOKKOS_LAMBDA(std::int64_t c) {
        typename L::non_const_value_type acc = 0;
        for (std::int64_t k = 0; k < m; ++k) // direction columns are contiguous in r
          for (std::int64_t r = 0; r < n; ++r)
            acc += g(r, c) * s2(r, c) * zdot(r, k * nt + c) * zdot(r, k * nt + c);
        lap(c) += acc;
      });
}

/// The quadratic head's share of the curvature: lap(c) += Σ_k |v_x,k − ẏ_k|² (v: the
/// directions, ẏ = W ḣ at the output; d = output rows).
template <class Exec, class L, class V, class YD>
void curvature_head(const Exec &space, std::int64_t nt, const L &lap, const V &v, const YD &ydot)
{
  const std::int64_t d = ydot.extent(0), m = nt > 0 ? std::int64_t(ydot.extent(1)) / nt : 0;
  Kokkos::parallel_for(
      "amk::GemmEngine::curvature_head", policy(space, nt), KOKKOS_LAMBDA(std::int64_t c) {
        typename L::non_const_value_type acc = 0;
        for (std::int64_t k = 0; k < m; ++k)
          for (std::int64_t r = 0; r < d; ++r)
            acc += nn::HeadRule::square(v(r, k * nt + c), ydot(r, k * nt + c));
        lap(c) += acc;
      });
}

/// Tangent sweep with curvature directions: given ż = W γ_prev, with S = Σ_k ż_k²,
///   γ = σ' ż + clap σ'' S               (the backward chain's adjoint, sourced by the curvature)
///   q = ḡ σ'' ż + clap ḡ σ''' S         (the extra adjoint of z)
/// ḡ stays in g (the reverse sweep needs it)   (n × nt)
template <class Exec, class ZT, class HT, class G, class Q, class S1, class S2, class ZD, class CL>
void tangent_hidden_curvature(const Exec &space, std::int64_t nt, const ZT &zdot, const HT &gamma, const G &g,
                              const Q &q, const S1 &s1, const S2 &s2, const S2 &s3, const ZD &zdir, const CL &clap)
{
  const std::int64_t m = nt > 0 ? std::int64_t(zdir.extent(1)) / nt : 0, n = zdot.extent(0);
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename Exec::memory_space>::accessible)
    Kokkos::parallel_for( // a column at a time: S accumulates in γ's column, every loop contiguous in r
        "amk::GemmEngine::tangent", policy(space, nt), KOKKOS_LAMBDA(std::int64_t c) {
          for (std::int64_t r = 0; r < n; ++r)
            gamma(r, c) = 0;
          for (std::int64_t k = 0; k < m; ++k)
            for (std::int64_t r = 0; r < n; ++r)
              gamma(r, c) += zdir(r, k * nt + c) * zdir(r, k * nt + c);
          const auto cl = clap(c);
          for (std::int64_t r = 0; r < n; ++r)
          {
            const auto sq = gamma(r, c), z = zdot(r, c), gr = g(r, c);
            gamma(r, c) = s1(r, c) * z + cl * s2(r, c) * sq;
            q(r, c) = gr * s2(r, c) * z + cl * gr * s3(r, c) * sq;
          }
        });
  else // GPU: one thread per entry, coalesced over r
    for_each_entry(
        "amk::GemmEngine::tangent", space, n, nt, KOKKOS_LAMBDA(std::int64_t r, std::int64_t c) {
          typename ZT::non_const_value_type sq = 0;
          for (std::int64_t k = 0; k < m; ++k)
            sq += zdir(r, k * nt + c) * zdir(r, k * nt + c);
          const auto z = zdot(r, c), cl = clap(c), gr = g(r, c);
          gamma(r, c) = s1(r, c) * z + cl * s2(r, c) * sq;
          q(r, c) = gr * s2(r, c) * z + cl * gr * s3(r, c) * sq;
        });
}

/// Reverse seed of the parameter-gradient sweep at the output (np columns; the first nt
/// are interior and also hold ẏ on entry): ȳ = c_s ∂φ/∂y (+ ∂ṡ/∂y for interior columns).
template <class Exec, class YB, class CS, class Y, class U, class UD>
void head_parameter_seed(const Exec &space, nn::Head head, std::int64_t nt, const YB &ybar, const CS &cs, const Y &y,
                         const U &u, const UD &udot)
{
  const nn::HeadRule rule(head);
  for_each_entry(
      "amk::GemmEngine::head_parameter_seed", space, ybar.extent(0), ybar.extent(1),
      KOKKOS_LAMBDA(std::int64_t r, std::int64_t c) {
        ybar(r, c) = c < nt ? rule.tangent_seed(cs(c), u(r, c), y(r, c), udot(r, c), ybar(r, c)) // ybar holds ẏ here
                            : rule.value_seed(cs(c), u(r, c), y(r, c));
      });
}

/// The head's direction adjoints ζ_k (nn/head.hpp)   (d × m·nt; ẏ in ydot)
template <class Exec, class ZB, class V, class YD, class CL>
void head_direction_seed(const Exec &space, nn::Head head, std::int64_t nt, const ZB &zeta, const V &v,
                         const YD &ydot, const CL &clap)
{
  const nn::HeadRule rule(head);
  for_each_entry(
      "amk::GemmEngine::head_direction_seed", space, zeta.extent(0), zeta.extent(1),
      KOKKOS_LAMBDA(std::int64_t r, std::int64_t kc) {
        zeta(r, kc) = rule.direction_seed(clap(kc % nt), v(r, kc), ydot(r, kc));
      });
}

/// Parameter-gradient reverse with curvature directions, given [ḣ̄_k | h̄] = Wᵀ[ζ_k | z̄] in
/// place (n × (m·nt + np)): for interior column c
///   ζ_k = σ' ḣ̄_k + 2 clap ḡ σ'' ż_k,   z̄ = σ' h̄ + q + Σ_k σ'' ż_k ḣ̄_k
/// and z̄ = σ' h̄ for the others.
template <class Exec, class DB, class S1, class S2, class G, class Q, class ZD, class CL>
void reverse_hidden_curvature(const Exec &space, std::int64_t nt, std::int64_t np, const DB &dirs, const DB &hbar,
                              const S1 &s1, const S2 &s2, const G &g, const Q &q, const ZD &zdir, const CL &clap)
{
  const std::int64_t m = nt > 0 ? std::int64_t(zdir.extent(1)) / nt : 0, n = hbar.extent(0);
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename Exec::memory_space>::accessible)
    Kokkos::parallel_for( // a column at a time, every loop contiguous in r (2.7x at d = 32 on a CPU)
        "amk::GemmEngine::parameter_gradient", policy(space, np), KOKKOS_LAMBDA(std::int64_t c) {
          if (c >= nt)
          {
            for (std::int64_t r = 0; r < n; ++r)
              hbar(r, c) *= s1(r, c);
            return;
          }
          for (std::int64_t r = 0; r < n; ++r)
            hbar(r, c) = hbar(r, c) * s1(r, c) + q(r, c);
          const auto two_c = 2 * clap(c);
          for (std::int64_t k = 0; k < m; ++k)
            for (std::int64_t r = 0; r < n; ++r)
            {
              const auto d2 = s2(r, c), zk = zdir(r, k * nt + c), hk = dirs(r, k * nt + c);
              hbar(r, c) += d2 * zk * hk;
              dirs(r, k * nt + c) = s1(r, c) * hk + two_c * g(r, c) * d2 * zk;
            }
        });
  else // GPU: one thread per entry, coalesced over r
    for_each_entry(
        "amk::GemmEngine::parameter_gradient", space, n, np, KOKKOS_LAMBDA(std::int64_t r, std::int64_t c) {
          const auto d1 = s1(r, c);
          auto zbar = hbar(r, c) * d1;
          if (c < nt)
          {
            const auto d2 = s2(r, c), two_cg = 2 * clap(c) * g(r, c);
            zbar += q(r, c);
            for (std::int64_t k = 0; k < m; ++k)
            {
              const auto zk = zdir(r, k * nt + c), hk = dirs(r, k * nt + c);
              zbar += d2 * zk * hk;
              dirs(r, k * nt + c) = d1 * hk + two_cg * d2 * zk;
            }
          }
          hbar(r, c) = zbar;
        });
}

/// Parameter-gradient reverse: z̄ = h̄ ⊙ σ'(z) + q, q on the first nt columns only
/// (n × np, flat: column c < nt ⇔ flat index < n·nt). Two branch-free loops, so that
/// each vectorises.
template <class Exec, class HB, class S1, class Q>
void reverse_hidden(const Exec &space, const HB &hbar, const S1 &s1, const Q &q)
{
  const auto hb = flat(hbar);
  const auto d1 = flat(s1);
  const auto qf = flat(q);
  const std::int64_t interior = qf.extent(0);
  Kokkos::parallel_for(
      "amk::GemmEngine::parameter_gradient", policy(space, interior),
      KOKKOS_LAMBDA(std::int64_t i) { hb(i) = hb(i) * d1(i) + qf(i); });
  Kokkos::parallel_for(
      "amk::GemmEngine::parameter_gradient_boundary",
      Kokkos::RangePolicy<Exec>(space, interior, std::int64_t(hb.extent(0))),
      KOKKOS_LAMBDA(std::int64_t i) { hb(i) *= d1(i); });
}
} // namespace amk::impl
