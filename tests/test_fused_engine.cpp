// The fused engine (one team kernel per step) against the GEMM engine, whose gradient the
// finite-difference tests of test_engine.cpp check: the same loss terms and the same ∂L/∂θ
// for every activation and head, with partial blocks, partial tiles and several gradient
// slots; and the Trainer's automatic choice between them.
#include <amk/am/loss.hpp>
#include <amk/nn/engine.hpp>
#include <amk/nn/fused_engine.hpp>
#include <amk/train/trainer.hpp>
#include <gtest/gtest.h>

namespace
{
using namespace amk;
using Exec = DefaultExec;

template <class T> std::vector<double> host(const Vector<T, Exec> &v)
{
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

double relative_difference(const std::vector<double> &a, const std::vector<double> &b)
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
  double gradient = 0, interior = 0, boundary = 0; // relative differences
};

/// Both engines on one random batch (n_int interior, n_b + n_b boundary columns).
template <class T>
Comparison compare(const nn::MlpShape &shape, int n_int, int n_b, int block, int slots, double weight_scale = 2.0)
{
  am::BatchLayout layout;
  layout.interior = n_int;
  layout.boundary0 = layout.boundary1 = n_b;
  layout.global_interior = n_int;
  layout.global_boundary0 = layout.global_boundary1 = n_b;
  const int np = layout.primal();

  Vector<T, Exec> params("params", shape.param_count()), t("t", np);
  nn::initialize(Exec(), shape, params, 11);
  auto ph = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), params);
  for (std::size_t i = 0; i < ph.extent(0); ++i) // larger than the default init: σ'' matters
    ph(i) *= T(weight_scale);
  Kokkos::deep_copy(params, ph);

  nn::GemmEngine<T, Exec> gemm(Exec(), shape, n_int, np);
  nn::FusedEngine<T, Exec> fused(Exec(), shape, n_int, np, block, slots);
  gemm.set_batch(n_int, np);
  fused.set_batch(n_int, np);
  auto th = Kokkos::create_mirror_view(t);
  auto uh = Kokkos::create_mirror_view(gemm.input());
  RandomKey key(5);
  for (int c = 0; c < np; ++c)
  {
    th(c) = c < n_int ? T(key.uniform(c)) : (c < n_int + n_b ? T(0) : T(1));
    for (int r = 0; r < shape.dim; ++r)
      uh(r, c) = T(key(c).normal(r));
  }
  Kokkos::deep_copy(t, th);
  Kokkos::deep_copy(gemm.input(), uh);
  nn::embed_times(Exec(), shape, t, gemm.input());
  Kokkos::deep_copy(fused.input(), gemm.input());

  Vector<T, Exec> g_ref("g_ref", shape.param_count()), g("g", shape.param_count());
  gemm.forward(Exec(), params);
  gemm.input_gradient(Exec(), params);
  const auto parts = am::plain_seeds(Exec(), gemm, t, layout);
  gemm.parameter_gradient(Exec(), params, g_ref);
  const am::PlainLoss<T, Exec> loss(shape, layout, t);
  const auto sums = fused.gradient(Exec(), params, loss, g);

  Comparison out;
  out.gradient = relative_difference(host(g), host(g_ref));
  out.interior = std::abs(sums.interior - parts.interior) / std::abs(parts.interior);
  out.boundary = std::abs(sums.boundary - parts.boundary) / std::abs(parts.boundary);
  return out;
}

nn::MlpShape shape(nn::Activation act, nn::Head head, int width, int depth)
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

TEST(FusedEngine, MatchesTheGemmEngineForEveryActivationAndHead)
{
  for (auto act : {nn::Activation::silu, nn::Activation::tanh, nn::Activation::softplus, nn::Activation::gelu})
    for (auto head : {nn::Head::scalar, nn::Head::quadratic})
    {
      // width 40: full and partial row tiles; 37 and 19 columns in blocks of 8: partial
      // blocks and column tiles; 3 slots: the slot reduction
      const auto c = compare<double>(shape(act, head, 40, 3), 37, 19, 8, 3);
      const std::string what = std::string(nn::to_string(act)) + "/" + nn::to_string(head);
      EXPECT_LT(c.gradient, 1e-12) << what;
      EXPECT_LT(c.interior, 1e-12) << what;
      EXPECT_LT(c.boundary, 1e-12) << what;
    }
}

TEST(FusedEngine, MatchesTheGemmEngineAcrossShapesBlocksAndSlots)
{
  struct Case
  {
    int width, depth, n_int, n_b, block, slots;
  };
  for (const Case k :
       {Case{64, 3, 96, 64, 32, 1}, Case{128, 2, 50, 30, 16, 4}, Case{7, 1, 5, 3, 32, 1}, Case{33, 4, 64, 1, 5, 7}})
  {
    const auto c = compare<double>(shape(nn::Activation::silu, nn::Head::scalar, k.width, k.depth), k.n_int, k.n_b,
                                   k.block, k.slots);
    EXPECT_LT(c.gradient, 1e-12) << "width " << k.width << " depth " << k.depth << " block " << k.block;
    EXPECT_LT(c.interior, 1e-12) << "width " << k.width;
    EXPECT_LT(c.boundary, 1e-12) << "width " << k.width;
  }
  // float: the same sums in another order, so agreement to float rounding
  const auto f = compare<float>(shape(nn::Activation::silu, nn::Head::scalar, 64, 3), 96, 64, 32, 2, 1.0);
  EXPECT_LT(f.gradient, 2e-5);
  EXPECT_LT(f.interior, 2e-5);
}

TEST(FusedEngine, TrainerPicksItForNarrowNetworksOnly)
{
  const bool host = impl::is_host_space<Exec>, threaded = !host || Exec().concurrency() > 1;
  train::TrainConfig c;
  c.network.width = 512;
  EXPECT_FALSE(train::Trainer<float>::use_fused(c));
  c.network.width = 16;
  c.network.dim = 8192; // the input layer alone outgrows a core's L2
  EXPECT_FALSE(train::Trainer<float>::use_fused(c));
  c.network.dim = 2;
  c.network.width = 256;
  EXPECT_EQ(train::Trainer<float>::use_fused(c), host && threaded);
  c.network.width = 128;
  EXPECT_EQ(train::Trainer<float>::use_fused(c), threaded);
  c.engine = "fused";
  c.network.width = 256;
  EXPECT_TRUE(train::Trainer<float>::use_fused(c));
  c.network.width = 32;
  c.engine = "gemm";
  EXPECT_FALSE(train::Trainer<float>::use_fused(c));
}
} // namespace
