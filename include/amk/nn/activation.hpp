#pragma once
// Smooth activations with closed-form σ, σ', σ'', σ''' (the derivative engine needs σ''
// for parameter gradients and σ''' for Laplacians). ReLU is deliberately absent: the
// action's ∇ₓs must be differentiable in θ.
#include <amk/core/choice.hpp>
#include <amk/core/kokkos_compat.hpp>
#include <string>
#include <vector>

namespace amk::nn
{
struct SiLU
{
  static constexpr const char *name = "silu";
  template <class T> KOKKOS_INLINE_FUNCTION static T sigmoid(T x) { return T(1) / (T(1) + math::exp_fast(-x)); }
  template <class T> KOKKOS_INLINE_FUNCTION static T f(T x) { return x * sigmoid(x); }
  // σ' = s (1 + x(1 − s))
  template <class T> KOKKOS_INLINE_FUNCTION static T d1(T x)
  {
    const T s = sigmoid(x);
    return s * (T(1) + x * (T(1) - s));
  }
  // σ'' = s(1−s) (2 + x(1 − 2s))
  template <class T> KOKKOS_INLINE_FUNCTION static T d2(T x)
  {
    const T s = sigmoid(x);
    return s * (T(1) - s) * (T(2) + x * (T(1) - T(2) * s));
  }
  // σ''' = p[(1 − 2s)(3 + x(1 − 2s)) − 2xp],  p = s(1−s)
  template <class T> KOKKOS_INLINE_FUNCTION static T d3(T x)
  {
    const T s = sigmoid(x), p = s * (T(1) - s), q = T(1) - T(2) * s;
    return p * (q * (T(3) + x * q) - T(2) * x * p);
  }
  /// σ, σ', σ'' with one exp (the forward sweep stores σ' and σ'' for the later sweeps)
  template <class T> KOKKOS_INLINE_FUNCTION static void eval(T x, T &f, T &d1, T &d2)
  {
    const T s = sigmoid(x), one_s = T(1) - s;
    f = x * s;
    d1 = s * (T(1) + x * one_s);
    d2 = s * one_s * (T(2) + x * (one_s - s));
  }
};

struct Tanh
{
  static constexpr const char *name = "tanh";
  template <class T> KOKKOS_INLINE_FUNCTION static T f(T x) { return math::tanh(x); }
  template <class T> KOKKOS_INLINE_FUNCTION static T d1(T x)
  {
    const T t = math::tanh(x);
    return T(1) - t * t;
  }
  template <class T> KOKKOS_INLINE_FUNCTION static T d2(T x)
  {
    const T t = math::tanh(x);
    return T(-2) * t * (T(1) - t * t);
  }
  template <class T> KOKKOS_INLINE_FUNCTION static T d3(T x)
  {
    const T t = math::tanh(x);
    return (T(1) - t * t) * (T(6) * t * t - T(2));
  }
  template <class T> KOKKOS_INLINE_FUNCTION static void eval(T x, T &f, T &d1, T &d2)
  {
    const T t = math::tanh(x);
    f = t;
    d1 = T(1) - t * t;
    d2 = T(-2) * t * d1;
  }
};

struct Softplus
{
  static constexpr const char *name = "softplus";
  // log(1 + eˣ) without overflow: max(x, 0) + log1p(e^{−|x|})
  template <class T> KOKKOS_INLINE_FUNCTION static T f(T x)
  {
    const T ax = x < T(0) ? -x : x;
    return (x > T(0) ? x : T(0)) + math::log1p(math::exp(-ax));
  }
  template <class T> KOKKOS_INLINE_FUNCTION static T d1(T x) { return SiLU::sigmoid(x); }
  template <class T> KOKKOS_INLINE_FUNCTION static T d2(T x)
  {
    const T s = SiLU::sigmoid(x);
    return s * (T(1) - s);
  }
  template <class T> KOKKOS_INLINE_FUNCTION static T d3(T x)
  {
    const T s = SiLU::sigmoid(x);
    return s * (T(1) - s) * (T(1) - T(2) * s);
  }
  template <class T> KOKKOS_INLINE_FUNCTION static void eval(T x, T &f, T &d1, T &d2)
  {
    const T e = math::exp_fast(x < T(0) ? x : -x); // e^{−|x|} ∈ (0, 1]
    const T s = x < T(0) ? e / (T(1) + e) : T(1) / (T(1) + e);
    f = (x > T(0) ? x : T(0)) + math::log1p(e);
    d1 = s;
    d2 = s * (T(1) - s);
  }
};

struct Gelu // exact (erf) form: x Φ(x)
{
  static constexpr const char *name = "gelu";
  template <class T> KOKKOS_INLINE_FUNCTION static T phi(T x) // standard normal density
  {
    return T(0.3989422804014327) * math::exp_fast(T(-0.5) * x * x);
  }
  template <class T> KOKKOS_INLINE_FUNCTION static T Phi(T x)
  {
    return T(0.5) * (T(1) + math::erf(x * T(0.7071067811865476)));
  }
  template <class T> KOKKOS_INLINE_FUNCTION static T f(T x) { return x * Phi(x); }
  template <class T> KOKKOS_INLINE_FUNCTION static T d1(T x) { return Phi(x) + x * phi(x); }
  template <class T> KOKKOS_INLINE_FUNCTION static T d2(T x) { return phi(x) * (T(2) - x * x); }
  template <class T> KOKKOS_INLINE_FUNCTION static T d3(T x) { return phi(x) * (x * x * x - T(4) * x); }
  template <class T> KOKKOS_INLINE_FUNCTION static void eval(T x, T &f, T &d1, T &d2)
  {
    const T P = Phi(x), p = phi(x);
    f = x * P;
    d1 = P + x * p;
    d2 = p * (T(2) - x * x);
  }
};

enum class Activation
{
  silu,
  tanh,
  softplus,
  gelu
};

inline const std::vector<Named<Activation>> &choices(Activation)
{
  static const std::vector<Named<Activation>> table = {{Activation::silu, SiLU::name},
                                                       {Activation::tanh, Tanh::name},
                                                       {Activation::softplus, Softplus::name},
                                                       {Activation::gelu, Gelu::name}};
  return table;
}

/// Calls f(SiLU{}) etc. for the runtime choice `a`: kernels are compiled per activation.
template <class F> decltype(auto) visit(Activation a, F &&f)
{
  switch (a)
  {
  case Activation::tanh:
    return f(Tanh{});
  case Activation::softplus:
    return f(Softplus{});
  case Activation::gelu:
    return f(Gelu{});
  case Activation::silu:
    break;
  }
  return f(SiLU{});
}
} // namespace amk::nn
