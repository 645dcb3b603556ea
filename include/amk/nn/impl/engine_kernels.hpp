#pragma once
// The fused elementwise kernels of GemmEngine: one launch per layer per sweep, each doing
// all the pointwise work of that sweep (bias, σ, σ', σ'', tangent and adjoint updates).
// Matrices are column-major (n × columns); index i ↦ (row i % n, column i / n).
#include <amk/core/types.hpp>
#include <amk/nn/mlp.hpp>

namespace amk::impl
{
/// Hidden layer forward: z ← z + b ; h = σ(z)   (n × np)
template <class A, class Exec, class Z, class H, class B>
void forward_hidden(const Exec &space, const Z &z, const H &h, const B &b)
{
  const std::int64_t n = z.extent(0);
  Kokkos::parallel_for(
      "amk::GemmEngine::forward", policy(space, n * std::int64_t(z.extent(1))), KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t r = i % n, c = i / n;
        const auto v = z(r, c) + b(r);
        z(r, c) = v;
        h(r, c) = A::f(v);
      });
}

/// Output layer forward: y ← y + b
template <class Exec, class Y, class B> void add_bias(const Exec &space, const Y &y, const B &b)
{
  const std::int64_t n = y.extent(0);
  Kokkos::parallel_for(
      "amk::GemmEngine::output_bias", policy(space, n * std::int64_t(y.extent(1))),
      KOKKOS_LAMBDA(std::int64_t i) { y(i % n, i / n) += b(i % n); });
}

/// s = φ(x, y): y itself, or ½|x − y|²   (np)
template <class Exec, class S, class Y, class U>
void head_value(const Exec &space, nn::Head head, const S &s, const Y &y, const U &u)
{
  const int m = y.extent(0);
  const bool quadratic = head == nn::Head::quadratic;
  Kokkos::parallel_for(
      "amk::GemmEngine::head_value", policy(space, s.extent(0)), KOKKOS_LAMBDA(std::int64_t c) {
        if (!quadratic)
        {
          s(c) = y(0, c);
          return;
        }
        typename S::non_const_value_type acc = 0;
        for (int r = 0; r < m; ++r)
        {
          const auto e = u(r, c) - y(r, c);
          acc += e * e;
        }
        s(c) = acc / 2;
      });
}

/// Reverse seed ∂φ/∂y: 1, or −(x − y)   (m × nt)
template <class Exec, class D, class Y, class U>
void head_gradient_seed(const Exec &space, nn::Head head, const D &dy, const Y &y, const U &u)
{
  const std::int64_t m = dy.extent(0);
  const bool quadratic = head == nn::Head::quadratic;
  Kokkos::parallel_for(
      "amk::GemmEngine::head_gradient_seed", policy(space, m * std::int64_t(dy.extent(1))),
      KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t r = i % m, c = i / m;
        dy(r, c) = quadratic ? y(r, c) - u(r, c) : 1;
      });
}

/// Input-gradient reverse: δ = ḡ ⊙ σ'(z)   (n × nt)
template <class A, class Exec, class D, class G, class Z>
void backward_hidden(const Exec &space, const D &delta, const G &g, const Z &z)
{
  const std::int64_t n = delta.extent(0);
  Kokkos::parallel_for(
      "amk::GemmEngine::input_gradient", policy(space, n * std::int64_t(delta.extent(1))),
      KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t r = i % n, c = i / n;
        delta(r, c) = g(r, c) * A::d1(z(r, c));
      });
}

/// The head's direct term of ∇ᵤs: g_x += x − y (quadratic head only)   (d × nt)
template <class Exec, class G, class Y, class U>
void head_direct_gradient(const Exec &space, const G &g, const Y &y, const U &u)
{
  const std::int64_t d = y.extent(0);
  Kokkos::parallel_for(
      "amk::GemmEngine::head_direct_gradient", policy(space, d * std::int64_t(g.extent(1))),
      KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t r = i % d, c = i / d;
        g(r, c) += u(r, c) - y(r, c);
      });
}

/// Tangent sweep along a₀: given ż = W ḣ_prev, set ḣ = σ'(z) ż and turn ḡ into the
/// second-order adjoint q = ḡ ⊙ σ''(z) ⊙ ż   (n × nt)
template <class A, class Exec, class ZD, class HD, class G, class Z>
void tangent_hidden(const Exec &space, const ZD &zdot, const HD &hdot, const G &g, const Z &z)
{
  const std::int64_t n = zdot.extent(0);
  Kokkos::parallel_for(
      "amk::GemmEngine::tangent", policy(space, n * std::int64_t(zdot.extent(1))), KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t r = i % n, c = i / n;
        const auto zv = z(r, c), zd = zdot(r, c);
        hdot(r, c) = A::d1(zv) * zd;
        g(r, c) *= A::d2(zv) * zd;
      });
}

/// Reverse seed of the parameter-gradient sweep at the output (np columns; the first nt
/// are interior and also hold ẏ on entry): ȳ = c_s ∂φ/∂y + ∂ṡ/∂y, i.e.
/// c_s for the scalar head, −c_s(x − y) − (ẋ − ẏ) for the quadratic one.
template <class Exec, class YB, class CS, class Y, class U, class UD>
void head_parameter_seed(const Exec &space, nn::Head head, std::int64_t nt, const YB &ybar, const CS &cs,
                         const Y &y, const U &u, const UD &udot)
{
  const std::int64_t m = ybar.extent(0);
  const bool quadratic = head == nn::Head::quadratic;
  Kokkos::parallel_for(
      "amk::GemmEngine::head_parameter_seed", policy(space, m * std::int64_t(ybar.extent(1))),
      KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t r = i % m, c = i / m;
        if (!quadratic)
        {
          ybar(r, c) = cs(c);
          return;
        }
        auto v = -cs(c) * (u(r, c) - y(r, c));
        if (c < nt)
          v -= udot(r, c) - ybar(r, c); // ybar(r, c) holds ẏ here
        ybar(r, c) = v;
      });
}

/// Parameter-gradient reverse: z̄ = h̄ ⊙ σ'(z) + q (q on the first nt columns only)
template <class A, class Exec, class HB, class Z, class Q>
void reverse_hidden(const Exec &space, std::int64_t nt, const HB &hbar, const Z &z, const Q &q)
{
  const std::int64_t n = hbar.extent(0);
  Kokkos::parallel_for(
      "amk::GemmEngine::parameter_gradient", policy(space, n * std::int64_t(hbar.extent(1))),
      KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t r = i % n, c = i / n;
        auto v = hbar(r, c) * A::d1(z(r, c));
        if (c < nt)
          v += q(r, c);
        hbar(r, c) = v;
      });
}
} // namespace amk::impl
