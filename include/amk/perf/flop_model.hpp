#pragma once
// The FLOP model of one training step (DESIGN.md §2) and the in-run GEMM ceiling that
// `amk bench` and perf/ report achieved rates against.
#include <algorithm>
#include <amk/core/types.hpp>
#include <amk/nn/mlp.hpp>
#include <chrono>

namespace amk::perf
{
/// Matrix-product FLOPs of `per_interior` forward-equivalents per interior sample and
/// `per_boundary` per boundary sample (one forward-equivalent is 2·Σ_l n_l n_{l−1} FLOPs), for
/// B interior samples and B₀ samples of each of q0 and q1.
inline double forward_equivalent_flops(const nn::MlpShape &shape, std::int64_t interior, std::int64_t boundary,
                                       double per_interior, double per_boundary)
{
  return 2.0 * double(shape.forward_macs()) *
         (per_interior * double(interior) + per_boundary * 2 * double(boundary));
}

/// Matrix-product FLOPs of one step: 6 forward-equivalents per interior sample (forward,
/// input gradient, tangent, and the reverse sweep's h̄ and the two halves of dW) and 3 per
/// boundary sample (forward, h̄, dW), i.e. 2·(Σ_l n_l n_{l−1})·(6B + 3·2B₀); each curvature
/// direction (entropic AM: d for the exact Laplacian, m probes) adds 3 per interior sample
/// (its tangent sweep, its reverse, its share of dW).
inline double step_flops(const nn::MlpShape &shape, std::int64_t interior, std::int64_t boundary, int directions = 0)
{
  return forward_equivalent_flops(shape, interior, boundary, 6 + 3.0 * directions, 3);
}

/// FLOP/s of the best of up to 16 (about 1 s of) KokkosBlas::gemm calls C = A·X, A (W×W), X (W×cols), after one
/// warm-up (many, so that a transient load on a small VM does not set the ceiling): the
/// machine's matrix-product rate for the step's dominant shape, measured in the same
/// process as the step it is compared with.
template <class T, class ExecutionSpace = DefaultExec> double gemm_rate(int W, int cols)
{
  const ExecutionSpace space;
  Matrix<T, ExecutionSpace> A("amk::perf::A", W, W), X("amk::perf::X", W, cols), C("amk::perf::C", W, cols);
  Kokkos::deep_copy(A, T(0.01));
  Kokkos::deep_copy(X, T(0.02));
  double best = 1e30, total = 0;
  for (int i = 0; i < 17 && (i < 5 || total < 1.0); ++i) // up to 16 timed, or ~1 s
  {
    space.fence();
    const auto t0 = std::chrono::steady_clock::now();
    gemm(space, "N", "N", T(1), A, X, T(0), C);
    space.fence();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total += s;
    if (i > 0)
      best = std::min(best, s);
  }
  return 2.0 * W * double(W) * cols / best;
}
} // namespace amk::perf
