#pragma once
// The physical limit of a host kernel: the FLOP rate of fused multiply-adds with every operand
// in registers, measured in the process that reports a kernel's rate against it (`amk bench`
// fma_peak_gflops). A VM's clock and its neighbours vary; a figure from the data sheet does not.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

namespace amk::perf
{
/// Bytes of the widest vector register the compile target has (the loop below is written for
/// the compiler to vectorise at that width: -march decides, as for every kernel of the build).
constexpr int host_vector_bytes()
{
#if defined(__AVX512F__)
  return 64;
#elif defined(__AVX__)
  return 32;
#else
  return 16;
#endif
}

/// FLOP/s of one thread of fused multiply-adds a·b + c on 12 independent vectors (12 chains
/// hide an FMA latency of 4 cycles on 2 pipes, as on Zen 4 and Sapphire Rapids, with room),
/// repeated for about `seconds`.
template <class T> double fma_rate_one_thread(double seconds = 0.05)
{
  constexpr int chains = 12 * host_vector_bytes() / int(sizeof(T));
  T acc[chains];
  for (int i = 0; i < chains; ++i)
    acc[i] = T(1) + T(i) * T(1e-3);
  const T b = T(0.99999), c = T(1e-5); // a contraction to c / (1 - b): finite forever
  long long rounds = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do
  {
    for (int r = 0; r < 4096; ++r)
      for (int i = 0; i < chains; ++i)
        acc[i] = std::fma(acc[i], b, c);
    rounds += 4096;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  T sum = 0; // the result is used: the loop cannot be dropped
  for (int i = 0; i < chains; ++i)
    sum += acc[i];
  volatile T sink = sum;
  (void)sink;
  return 2.0 * chains * double(rounds) / elapsed;
}

/// The FMA rate of `threads` host threads at once (each its own core when the machine has as
/// many): the peak of a kernel that runs on that many cores. The best of `repeats` runs of all
/// threads together: a VM's cores are shared with its neighbours, and the limit is what the
/// cores reach when they are free.
template <class T> double fma_peak(int threads, int repeats = 7, double seconds = 0.02)
{
  double best = 0;
  for (int r = 0; r < repeats; ++r)
  {
    std::vector<double> rate(std::size_t(std::max(1, threads)));
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < rate.size(); ++t)
      pool.emplace_back([&rate, t, seconds] { rate[t] = fma_rate_one_thread<T>(seconds); });
    rate[0] = fma_rate_one_thread<T>(seconds);
    for (auto &thread : pool)
      thread.join();
    double total = 0;
    for (double x : rate)
      total += x;
    best = std::max(best, total);
  }
  return best;
}
} // namespace amk::perf
