#pragma once
// The fused engine against the GEMM engine on one random batch (test_fused_engine.cpp,
// test_fused_portable.cpp, test_fused_staged.cpp: the back end's own tiles, the portable GPU
// tiles, and the staged engine's scratch plan, in three translation units so that they
// compile in parallel).
#include "backend.hpp"
#include <amk/am/loss.hpp>
#include <amk/nn/engine_registry.hpp>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace amk::test
{

template <class T> std::vector<double> host(const Vector<T, Exec> &v)
{
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

inline double relative_difference(const std::vector<double> &a, const std::vector<double> &b)
{
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
  {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}

struct Comparison
{
  double gradient = 0, interior = 0, boundary = 0, value = 0, input_gradient = 0; // relative differences
};

enum class Variant
{
  plain,
  unbalanced,
  weighted,
  entropic_exact, ///< ½σ²Δs with the d axes as directions
  entropic_probes ///< ½σ²εᵀ∇²s ε with 2 random probes
};

inline int directions_of(Variant v, int d) { return v == Variant::entropic_exact ? d : v == Variant::entropic_probes ? 2 : 0; }

/// Both engines on one random batch (n_int interior, n_b + n_b value columns); the fused
/// engine's team kernels on tile path Path, its scratch laid out by Plan with level0_bytes
/// of level 0 (-1: the back end's limit).
template <class T, impl::TilePath Path = impl::default_tile_path<Exec>,
          impl::ScratchPlan Plan = impl::ScratchPlan::one_level>
Comparison compare(const nn::MlpShape &shape, int n_int, int n_b, int block, int slots, Variant variant,
                   double weight_scale = 2.0, std::int64_t level0_bytes = -1)
{
  using Loss = am::ActionLoss<T, Exec>;
  const int np = n_int + 2 * n_b;
  Vector<T, Exec> params("params", shape.param_count());
  nn::initialize(Exec(), shape, params, 11);
  auto ph = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), params);
  for (std::size_t i = 0; i < ph.extent(0); ++i) // larger than the default init: σ'' matters
    ph(i) *= T(weight_scale);
  Kokkos::deep_copy(params, ph);

  const int m = directions_of(variant, shape.dim);
  const nn::Capacity capacity{n_int, np, m};
  nn::GemmEngine<T, Exec, Loss> gemm(Exec(), shape, capacity);
  nn::FusedEngine<T, Exec, Loss, Path, Plan> fused(Exec(), shape, capacity, block, slots, level0_bytes);
  gemm.set_batch(n_int, np);
  fused.set_batch(n_int, np);
  Loss loss(shape);
  loss.t = Vector<T, Exec>("t", np);
  loss.weight = Vector<T, Exec>("weight", np);
  auto th = Kokkos::create_mirror_view(loss.t);
  auto wh = Kokkos::create_mirror_view(loss.weight);
  auto uh = Kokkos::create_mirror_view(gemm.input());
  RandomKey key(5);
  for (int c = 0; c < np; ++c)
  {
    th(c) = c < n_int ? T(key.uniform(c)) : (c < n_int + n_b ? T(0) : T(1));
    const double mass = variant == Variant::unbalanced ? 0.5 + key(9).uniform(c) : 1.0;
    const double w = variant == Variant::weighted ? 1 - double(th(c)) : 1.0;
    wh(c) = T(c < n_int ? w * mass / n_int : (c < n_int + n_b ? 1 : -1) * w * mass / n_b);
    for (int r = 0; r < shape.dim; ++r)
      uh(r, c) = T(key(c).normal(r));
  }
  Kokkos::deep_copy(loss.t, th);
  Kokkos::deep_copy(loss.weight, wh);
  if (variant == Variant::weighted)
  {
    loss.value_weight = Vector<T, Exec>("value_weight", n_int);
    Kokkos::deep_copy(loss.value_weight, T(-1.0 / n_int));
  }
  if (variant == Variant::unbalanced)
    loss.growth = T(0.7);
  if (m > 0)
  {
    loss.diffusion = Vector<T, Exec>("diffusion", n_int);
    Kokkos::deep_copy(loss.diffusion, T(0.4));
    auto vh = Kokkos::create_mirror_view(gemm.direction_input());
    for (int kc = 0; kc < m * n_int; ++kc)
      for (int r = 0; r < shape.input_size(); ++r)
        vh(r, kc) = r >= shape.dim ? T(0)
                    : variant == Variant::entropic_exact ? T(r == kc / n_int ? 1 : 0)
                                                         : T(key(500 + kc).normal(r));
    Kokkos::deep_copy(gemm.direction_input(), vh);
    Kokkos::deep_copy(fused.direction_input(), vh);
  }
  Kokkos::deep_copy(gemm.input(), uh);
  nn::embed_times(Exec(), shape, loss.t, gemm.input());
  Kokkos::deep_copy(fused.input(), gemm.input());

  Vector<T, Exec> g_ref("g_ref", shape.param_count()), g("g", shape.param_count());
  const auto parts = gemm.gradient(Exec(), params, loss, g_ref);
  const auto sums = fused.gradient(Exec(), params, loss, g);

  Comparison out;
  out.gradient = relative_difference(host(g), host(g_ref));
  out.interior = std::abs(sums.interior - parts.interior) / std::abs(parts.interior);
  out.boundary = std::abs(sums.boundary - parts.boundary) / std::abs(parts.boundary);

  // evaluate(): s, ∇ᵤs and (with directions: the axes) Δs of every column as interior, by
  // the evaluation-only engines (no loss: what nn::make_evaluator builds)
  const int m_eval = m > 0 ? shape.dim : 0;
  nn::GemmEngine<T, Exec, impl::NoLoss> gemm_all(Exec(), shape, nn::Capacity{np, np, m_eval});
  nn::FusedEngine<T, Exec, impl::NoLoss, Path, Plan> fused_all(Exec(), shape, nn::Capacity{np, np, m_eval}, block,
                                                               slots, level0_bytes);
  gemm_all.set_batch(np, np);
  fused_all.set_batch(np, np);
  Kokkos::deep_copy(gemm_all.input(), gemm.input());
  Kokkos::deep_copy(fused_all.input(), gemm.input());
  nn::Evaluation<T, Exec> a, b;
  a.value = Vector<T, Exec>("a", np);
  b.value = Vector<T, Exec>("b", np);
  a.gradient = Matrix<T, Exec>("ga", shape.input_size(), np);
  b.gradient = Matrix<T, Exec>("gb", shape.input_size(), np);
  if (m_eval > 0)
  {
    auto vh = Kokkos::create_mirror_view(gemm_all.direction_input());
    for (int kc = 0; kc < m_eval * np; ++kc)
      for (int r = 0; r < shape.input_size(); ++r)
        vh(r, kc) = T(r == kc / np ? 1 : 0);
    Kokkos::deep_copy(gemm_all.direction_input(), vh);
    Kokkos::deep_copy(fused_all.direction_input(), vh);
    a.curvature = Vector<T, Exec>("la", np);
    b.curvature = Vector<T, Exec>("lb", np);
  }
  gemm_all.evaluate(Exec(), params, a);
  fused_all.evaluate(Exec(), params, b);
  out.value = relative_difference(host(b.value), host(a.value));
  if (m_eval > 0)
    out.value = std::max(out.value, relative_difference(host(b.curvature), host(a.curvature)));
  auto ga = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.gradient);
  auto gb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b.gradient);
  out.input_gradient = relative_difference(std::vector<double>(gb.data(), gb.data() + gb.size()),
                                           std::vector<double>(ga.data(), ga.data() + ga.size()));
  return out;
}

inline nn::MlpShape shape(nn::Activation act, nn::Head head, int width, int depth)
{
  nn::MlpShape s;
  s.dim = 3;
  s.width = width;
  s.depth = depth;
  s.time_features = 2;
  s.activation = act;
  s.head = head;
  return s;
}

inline void expect_agreement(const Comparison &c, double bound, const std::string &what)
{
  EXPECT_LT(c.gradient, bound) << what;
  EXPECT_LT(c.interior, bound) << what;
  EXPECT_LT(c.boundary, bound) << what;
  EXPECT_LT(c.value, bound) << what;
  EXPECT_LT(c.input_gradient, bound) << what;
}

template <impl::TilePath Path, impl::ScratchPlan Plan = impl::ScratchPlan::one_level>
void every_loss_activation_and_head(std::int64_t level0_bytes = -1)
{
  for (Variant v : {Variant::plain, Variant::unbalanced, Variant::weighted, Variant::entropic_exact,
                    Variant::entropic_probes})
    for (auto act : {nn::Activation::silu, nn::Activation::tanh, nn::Activation::softplus, nn::Activation::gelu})
      for (auto head : {nn::Head::scalar, nn::Head::quadratic})
      {
        // width 40: full and partial row tiles; 37 and 19 columns in blocks of 8: partial
        // blocks and column tiles; 3 slots: the slot reduction
        const auto c = compare<double, Path, Plan>(shape(act, head, 40, 3), 37, 19, 8, 3, v, 2.0, level0_bytes);
        expect_agreement(c, 1e-12,
                         "loss " + std::to_string(int(v)) + " " + name_of(act) + "/" + name_of(head));
      }
}

template <impl::TilePath Path, impl::ScratchPlan Plan = impl::ScratchPlan::one_level>
void across_shapes_blocks_and_slots(std::int64_t level0_bytes = -1)
{
  struct Case
  {
    int width, depth, n_int, n_b, block, slots;
  };
  for (const Case k :
       {Case{64, 3, 96, 64, 32, 1}, Case{128, 2, 50, 30, 16, 4}, Case{7, 1, 5, 3, 32, 1}, Case{33, 4, 64, 1, 5, 7}})
  {
    const auto c = compare<double, Path, Plan>(shape(nn::Activation::silu, nn::Head::scalar, k.width, k.depth),
                                               k.n_int, k.n_b, k.block, k.slots, Variant::plain, 2.0, level0_bytes);
    expect_agreement(c, 1e-12, "width " + std::to_string(k.width) + " block " + std::to_string(k.block));
  }
  // float: the same sums in another order, so agreement to float rounding
  const auto f = compare<float, Path, Plan>(shape(nn::Activation::silu, nn::Head::scalar, 64, 3), 96, 64, 32, 2,
                                            Variant::plain, 1.0, level0_bytes);
  EXPECT_LT(f.gradient, 2e-5);
  EXPECT_LT(f.interior, 2e-5);
}

} // namespace amk::test
