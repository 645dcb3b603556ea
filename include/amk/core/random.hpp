#pragma once
// Counter-based random numbers: every draw is a pure function of (seed, stream, counter).
// Why not a stateful Kokkos::Random_XorShift64_Pool: a counter-based draw gives the same
// numbers on Serial, OpenMP and CUDA, for any thread count and any MPI decomposition of
// a global batch (sample i of step k is the same sample wherever it is computed), and
// resuming from a checkpoint needs no generator state beyond the step counter.
#include <Kokkos_Core.hpp>
#include <amk/core/kokkos_compat.hpp>
#include <cstdint>

namespace amk
{
/// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mixer.
KOKKOS_INLINE_FUNCTION std::uint64_t mix64(std::uint64_t z)
{
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// A key naming one independent stream of draws.
struct RandomKey
{
  std::uint64_t value = 0;
  RandomKey() = default; // defaulted: host-device already (nvcc warns on an annotation)
  KOKKOS_INLINE_FUNCTION explicit RandomKey(std::uint64_t v) : value(v) {}
  /// A sub-stream: key for (this, tag).
  KOKKOS_INLINE_FUNCTION RandomKey operator()(std::uint64_t tag) const
  {
    return RandomKey(mix64(value ^ mix64(tag + 0x632BE59BD9B4E019ull)));
  }
  /// 64 random bits for counter i.
  KOKKOS_INLINE_FUNCTION std::uint64_t bits(std::uint64_t i) const { return mix64(value ^ mix64(i)); }
  /// Uniform in [0, 1): the top 53 bits.
  KOKKOS_INLINE_FUNCTION double uniform(std::uint64_t i) const
  {
    return double(bits(i) >> 11) * (1.0 / 9007199254740992.0);
  }
  /// Uniform integer in [0, n) (multiply-shift on 32 bits; bias < n / 2^32).
  KOKKOS_INLINE_FUNCTION std::int64_t index(std::uint64_t i, std::int64_t n) const
  {
    return std::int64_t(((bits(i) >> 32) * std::uint64_t(n)) >> 32);
  }
  /// Two independent standard normals (both Box–Muller outputs) from counters 2i, 2i+1.
  KOKKOS_INLINE_FUNCTION void normal_pair(std::uint64_t i, double &z0, double &z1) const
  {
    const double radius = math::sqrt(-2.0 * math::log(1.0 - uniform(2 * i)));
    const double angle = 6.283185307179586 * uniform(2 * i + 1);
    z0 = radius * math::cos(angle);
    z1 = radius * math::sin(angle);
  }
  /// Standard normal by Box–Muller from counters 2i and 2i+1 (= normal_pair's first).
  KOKKOS_INLINE_FUNCTION double normal(std::uint64_t i) const
  {
    const double u1 = 1.0 - uniform(2 * i); // (0, 1]: log is finite
    const double u2 = uniform(2 * i + 1);
    return math::sqrt(-2.0 * math::log(u1)) * math::cos(6.283185307179586 * u2);
  }
};
} // namespace amk
