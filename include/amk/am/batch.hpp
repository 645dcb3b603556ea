#pragma once
// Assembles one training batch in the engine's input columns: interior times from the
// time sampler, x ~ q_t from a source, and the time features. Every draw is indexed by
// the sample's GLOBAL index (step, position in the global batch), so a batch split over
// P ranks is the same batch as on one rank.
#include <amk/am/loss.hpp>
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/data/sources.hpp>
#include <amk/nn/engine.hpp>
#include <string>

namespace amk::am
{
enum class TimeSampling
{
  low_discrepancy, ///< t_i = (u₀ + √2·i) mod 1, i running across steps (the reference code's)
  stratified,      ///< t = (i mod B + U)/B: one draw per 1/B-stratum each step
  uniform          ///< t ~ U(0, 1)
};

inline TimeSampling parse_time_sampling(const std::string &name)
{
  if (name == "low-discrepancy")
    return TimeSampling::low_discrepancy;
  if (name == "stratified")
    return TimeSampling::stratified;
  if (name == "uniform")
    return TimeSampling::uniform;
  throw Error("unknown time sampling '" + name + "' (use low-discrepancy, stratified or uniform)");
}

/// This rank's slice [begin, end) of a global count n split over `ranks`.
inline std::pair<std::int64_t, std::int64_t> slice(std::int64_t n, int rank, int ranks)
{
  return {n * rank / ranks, n * (rank + 1) / ranks};
}

template <class Scalar, class ExecutionSpace = DefaultExec> class BatchBuilder
{
public:
  using memory_space = typename ExecutionSpace::memory_space;

  /// \param global_interior [in] B;  \param global_boundary [in] B₀ = B₁
  BatchBuilder(const ExecutionSpace &space, std::int64_t global_interior, std::int64_t global_boundary, int rank,
               int ranks, TimeSampling sampling, std::uint64_t seed)
      : m_sampling(sampling), m_key(RandomKey(seed)(0xba7c))
  {
    require(global_interior >= ranks && global_boundary >= ranks,
            "batch: --batch must be at least the number of MPI ranks");
    const auto in = slice(global_interior, rank, ranks), bd = slice(global_boundary, rank, ranks);
    m_layout.interior = int(in.second - in.first);
    m_layout.boundary0 = m_layout.boundary1 = int(bd.second - bd.first);
    m_layout.global_interior = double(global_interior);
    m_layout.global_boundary0 = m_layout.global_boundary1 = double(global_boundary);
    m_offset_interior = in.first;
    m_offset_boundary = bd.first;
    m_global_interior = global_interior;
    m_global_boundary = global_boundary;
    m_u0 = RandomKey(seed)(0x7105).uniform(0);
    m_t = uninitialized<Vector<Scalar, ExecutionSpace>>(space, "amk::BatchBuilder::t", m_layout.primal());
    m_ids =
        uninitialized<Kokkos::View<std::uint64_t *, memory_space>>(space, "amk::BatchBuilder::ids", m_layout.primal());
  }

  const BatchLayout &layout() const { return m_layout; }
  /// Normalised times of all columns (interior first, then 0s, then 1s).
  const Vector<Scalar, ExecutionSpace> &times() const { return m_t; }

  /// Fills engine.input() for training step `step` (engine.set_batch is done here);
  /// Engine is nn::GemmEngine or nn::FusedEngine.
  template <class Engine>
  void build(const ExecutionSpace &space, const data::Source<Scalar, ExecutionSpace> &source, Engine &engine,
             std::int64_t step)
  {
    Region region("amk::BatchBuilder::build");
    engine.set_batch(m_layout.interior, m_layout.primal());
    const auto t = m_t;
    const auto ids = m_ids;
    const int nt = m_layout.interior, n0 = m_layout.boundary0;
    const std::uint64_t base_i = std::uint64_t(step) * m_global_interior + m_offset_interior;
    const std::uint64_t base_b = std::uint64_t(step) * m_global_boundary + m_offset_boundary;
    const std::uint64_t B = m_global_interior;
    const double u0 = m_u0;
    const TimeSampling sampling = m_sampling;
    const RandomKey tkey = m_key(1);
    Kokkos::parallel_for(
        "amk::BatchBuilder::times", policy(space, m_layout.primal()), KOKKOS_LAMBDA(std::int64_t c) {
          constexpr std::uint64_t segment = std::uint64_t(1) << 58;
          if (c < nt)
          {
            const std::uint64_t i = base_i + c;
            double tc;
            if (sampling == TimeSampling::low_discrepancy)
            {
              const double v = u0 + 1.4142135623730951 * double(i);
              tc = v - math::floor(v);
            }
            else if (sampling == TimeSampling::stratified)
              tc = (double(i % B) + tkey.uniform(i)) / double(B);
            else
              tc = tkey.uniform(i);
            t(c) = Scalar(tc);
            ids(c) = i;
          }
          else if (c < nt + n0)
          {
            t(c) = 0;
            ids(c) = segment + base_b + (c - nt);
          }
          else
          {
            t(c) = 1;
            ids(c) = 2 * segment + base_b + (c - nt - n0);
          }
        });
    const auto u = engine.input();
    source.draw(space, m_t, m_ids, m_key(2), Matrix<Scalar, ExecutionSpace>(u));
    nn::embed_times(space, engine.shape(), m_t, u);
  }

private:
  TimeSampling m_sampling;
  RandomKey m_key;
  BatchLayout m_layout;
  std::int64_t m_offset_interior = 0, m_offset_boundary = 0, m_global_interior = 1, m_global_boundary = 1;
  double m_u0 = 0;
  Vector<Scalar, ExecutionSpace> m_t;
  Kokkos::View<std::uint64_t *, memory_space> m_ids;
};
} // namespace amk::am
