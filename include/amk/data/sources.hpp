#pragma once
// Where training samples come from: a source draws x ~ q_t for given normalised times t
// on the device, with each draw's mass. Two kinds: snapshots of a data set and the
// closed-form Gaussian path (exact x_t for any t). Between snapshots x_t comes either from
// the nearest snapshot (for equally spaced snapshots the reference code's round(t·(K−1)))
// or, once couple() has paired adjacent snapshots (data/coupling.hpp), from the path
// x_t = (1 − τ)x_k + τx_{k+1} (+ σ√(τ(1 − τ)Δt) ξ, a Brownian bridge, for SDEs) of a random
// pair of its interval. At a snapshot's own time either gives that snapshot.
// Coordinates inside are normalised (data/normalisation.hpp).
// Masses: a drawn sample stands for N_k m_i of its snapshot's mass (it was drawn uniformly
// among N_k), reported relative to its snapshot's total M_k (mean 1: the importance weight
// of a balanced loss) or, for unbalanced AM, relative to the first snapshot's total M_0
// (so that the expectations are under the unnormalised measure, with q_0 of mass 1).
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/core/types.hpp>
#include <amk/data/coupling.hpp>
#include <amk/data/gaussian_path.hpp>
#include <amk/data/normalisation.hpp>
#include <amk/data/snapshot_data.hpp>
#include <cmath>
#include <memory>
#include <vector>

namespace amk::data
{

template <class Scalar, class ExecutionSpace = DefaultExec> class Source
{
public:
  virtual ~Source() = default;
  virtual int dim() const = 0;
  virtual const Normalisation &normalisation() const = 0;
  /// The normalised snapshot times (empty for a path defined at every t).
  virtual std::vector<double> snapshot_times() const { return {}; }
  /// Bytes of data held (on the device): what a rank's share of the data costs.
  virtual std::size_t bytes() const { return 0; }
  /// x̃_c ~ q_{t(c)} into rows 0…d−1 of u (input_size × n) and its mass into mass(c);
  /// ids(c) names the draw.
  virtual void draw(const ExecutionSpace &space, const Vector<Scalar, ExecutionSpace> &t,
                    const Kokkos::View<std::uint64_t *, typename ExecutionSpace::memory_space> &ids, RandomKey key,
                    const MatrixRef<Scalar, ExecutionSpace> &u, const Vector<Scalar, ExecutionSpace> &mass) const = 0;
};

/// Samples of K snapshots held on the device.
template <class Scalar, class ExecutionSpace = DefaultExec> class SnapshotSource : public Source<Scalar, ExecutionSpace>
{
public:
  using memory_space = typename ExecutionSpace::memory_space;

  /// \param normalise  [in] centre and scale x (else shift 0, scale 1)
  /// \param fixed      [in] use this normalisation instead (a resumed run keeps its own)
  /// \param unbalanced [in] masses relative to the first snapshot's total, not each one's own
  SnapshotSource(const ExecutionSpace &space, const SnapshotData &data, bool normalise,
                 const Normalisation *fixed = nullptr, bool unbalanced = false)
      : m_dim(int(data.dim))
  {
    const std::int64_t K = data.snapshots(), N = data.samples(), d = data.dim;
    m_norm.t0 = data.times.front();
    m_norm.span = data.times.back() - data.times.front();
    m_norm.shift.assign(d, 0.0);
    if (fixed)
    {
      require(fixed->shift.size() == std::size_t(d) &&
                  std::abs(fixed->t0 - m_norm.t0) <= 1e-12 * (std::abs(m_norm.t0) + m_norm.span) &&
                  std::abs(fixed->span - m_norm.span) <= 1e-12 * m_norm.span,
              "train: the data's dimension or time span differs from the checkpoint's");
      m_norm = *fixed;
    }
    else if (normalise)
    { // per-dimension mean, one isotropic scale: the RMS standard deviation
      double var = 0;
      for (std::int64_t r = 0; r < d; ++r)
      {
        double m = 0, m2 = 0;
        for (std::int64_t i = 0; i < N; ++i)
          m += data.x[i * d + r];
        m /= double(N);
        for (std::int64_t i = 0; i < N; ++i)
          m2 += (data.x[i * d + r] - m) * (data.x[i * d + r] - m);
        m_norm.shift[r] = m;
        var += m2 / double(N);
      }
      m_norm.scale = var > 0 ? std::sqrt(var / double(d)) : 1.0;
    }
    auto x_host = Kokkos::View<Scalar **, Kokkos::LayoutRight, Kokkos::HostSpace>("x", N, d);
    for (std::int64_t i = 0; i < N; ++i)
      for (std::int64_t r = 0; r < d; ++r)
        x_host(i, r) = Scalar((data.x[i * d + r] - m_norm.shift[r]) / m_norm.scale);
    auto off_host = Kokkos::View<std::int64_t *, Kokkos::HostSpace>("offsets", K + 1);
    auto t_host = Kokkos::View<double *, Kokkos::HostSpace>("times", K);
    for (std::int64_t k = 0; k <= K; ++k)
      off_host(k) = data.offsets[k];
    for (std::int64_t k = 0; k < K; ++k)
      t_host(k) = m_norm.normalised_time(data.times[k]);
    const bool weighted = !data.mass.empty() || (unbalanced && !data.snapshot_mass.empty());
    if (weighted)
    {
      std::vector<double> total(K);
      for (std::int64_t k = 0; k < K; ++k)
        total[k] = data.total_mass(k);
      auto mass_host = Kokkos::View<Scalar *, Kokkos::HostSpace>("mass", N);
      for (std::int64_t k = 0; k < K; ++k)
      {
        const double n_k = double(data.offsets[k + 1] - data.offsets[k]);
        for (std::int64_t i = data.offsets[k]; i < data.offsets[k + 1]; ++i)
        {
          const double m_i = data.mass.empty() ? total[k] / n_k : data.mass[i];
          mass_host(i) = Scalar(n_k * m_i / (unbalanced ? total[0] : total[k]));
        }
      }
      m_mass = Kokkos::create_mirror_view_and_copy(memory_space(), mass_host);
    }
    m_x = Kokkos::create_mirror_view_and_copy(memory_space(), x_host);
    m_offsets = Kokkos::create_mirror_view_and_copy(memory_space(), off_host);
    m_times = Kokkos::create_mirror_view_and_copy(memory_space(), t_host);
    space.fence();
  }

  int dim() const override { return m_dim; }
  const Normalisation &normalisation() const override { return m_norm; }
  std::vector<double> snapshot_times() const override
  {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_times);
    return std::vector<double>(h.data(), h.data() + h.extent(0));
  }

  /// Pairs every sample of snapshots 0 … K−2 with one of the next snapshot (minibatch OT);
  /// from then on draw() samples the coupled path.
  /// \param bridge_sigma [in] σ̃ per interval (normalised): Brownian bridges of that diffusion
  ///                         with the matching entropic coupling (empty: straight lines)
  void couple(const ExecutionSpace &space, const CouplingOptions &options, const std::vector<double> &bridge_sigma,
              std::uint64_t seed)
  {
    auto times = snapshot_times();
    auto offsets = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_offsets);
    std::vector<double> epsilon; // σ̃²Δt per interval
    for (std::size_t k = 0; k < bridge_sigma.size(); ++k)
      epsilon.push_back(bridge_sigma[k] * bridge_sigma[k] * (times[k + 1] - times[k]));
    const auto partner = couple_adjacent(space, m_x, std::vector<std::int64_t>(offsets.data(), offsets.data() + offsets.extent(0)),
                                         options, epsilon, seed);
    Kokkos::View<std::int64_t *, Kokkos::HostSpace> p("partner", partner.size());
    for (std::size_t i = 0; i < partner.size(); ++i)
      p(i) = partner[i];
    m_partner = Kokkos::create_mirror_view_and_copy(memory_space(), p);
    Kokkos::View<double *, Kokkos::HostSpace> b("bridge", bridge_sigma.size());
    for (std::size_t k = 0; k < bridge_sigma.size(); ++k)
      b(k) = bridge_sigma[k];
    m_bridge = Kokkos::create_mirror_view_and_copy(memory_space(), b);
    space.fence();
  }
  bool coupled() const { return m_partner.extent(0) > 0; }
  std::size_t bytes() const override
  {
    return m_x.span() * sizeof(Scalar) + m_mass.span() * sizeof(Scalar) + m_offsets.span() * sizeof(std::int64_t) +
           m_times.span() * sizeof(double) + m_partner.span() * sizeof(std::int64_t) + m_bridge.span() * sizeof(double);
  }

  void draw(const ExecutionSpace &space, const Vector<Scalar, ExecutionSpace> &t,
            const Kokkos::View<std::uint64_t *, memory_space> &ids, RandomKey key,
            const MatrixRef<Scalar, ExecutionSpace> &u, const Vector<Scalar, ExecutionSpace> &mass) const override
  {
    const auto x = m_x;
    const auto sample_mass = m_mass;
    const bool weighted = m_mass.extent(0) > 0, coupled = this->coupled(), bridged = m_bridge.extent(0) > 0;
    const auto offsets = m_offsets;
    const auto times = m_times;
    const auto partner = m_partner;
    const auto bridge = m_bridge;
    const int d = m_dim;
    const int K = int(times.extent(0));
    Kokkos::parallel_for(
        "amk::SnapshotSource::draw", policy(space, u.extent(1)), KOKKOS_LAMBDA(std::int64_t c) {
          const double tc = t(c);
          // first k with times(k) >= t
          int lo = 0, hi = K - 1;
          while (lo < hi)
          {
            const int mid = (lo + hi) / 2;
            if (times(mid) < tc)
              lo = mid + 1;
            else
              hi = mid;
          }
          const RandomKey draw = key(ids(c));
          if (coupled && lo > 0 && times(lo) != tc)
          { // strictly inside interval k = lo − 1: a random pair of its coupling
            const int k = lo - 1;
            const double dt = times(k + 1) - times(k), tau = (tc - times(k)) / dt;
            const std::int64_t i = offsets(k) + draw.index(0, offsets(k + 1) - offsets(k)), j = partner(i);
            const double spread = bridged ? bridge(k) * math::sqrt(tau * (1 - tau) * dt) : 0.0;
            for (int r = 0; r < d; ++r)
              u(r, c) = Scalar((1 - tau) * double(x(i, r)) + tau * double(x(j, r)) +
                               (bridged ? spread * draw.normal(std::uint64_t(r) + 1) : 0.0));
            mass(c) = weighted ? Scalar(math::exp((1 - tau) * math::log(double(sample_mass(i))) +
                                                  tau * math::log(double(sample_mass(j)))))
                               : Scalar(1);
            return;
          }
          int k = lo; // the nearest snapshot
          if (k > 0 && tc - times(k - 1) <= times(k) - tc)
            k = k - 1;
          const std::int64_t n = offsets(k + 1) - offsets(k);
          const std::int64_t row = offsets(k) + draw.index(0, n);
          for (int r = 0; r < d; ++r)
            u(r, c) = x(row, r);
          mass(c) = weighted ? sample_mass(row) : Scalar(1);
        });
  }

private:
  int m_dim;
  Normalisation m_norm;
  Kokkos::View<Scalar **, Kokkos::LayoutRight, memory_space> m_x;
  Vector<Scalar, ExecutionSpace> m_mass; ///< per sample (empty: all 1)
  Kokkos::View<std::int64_t *, memory_space> m_offsets;
  Kokkos::View<double *, memory_space> m_times;
  Kokkos::View<std::int64_t *, memory_space> m_partner; ///< per row: its partner in the next snapshot
  Kokkos::View<double *, memory_space> m_bridge;        ///< per interval: σ̃ of its Brownian bridges
};

/// Exact draws from the Gaussian path (no normalisation: its scale is already O(1)).
template <class Scalar, class ExecutionSpace = DefaultExec> class GaussianSource : public Source<Scalar, ExecutionSpace>
{
public:
  using memory_space = typename ExecutionSpace::memory_space;

  GaussianSource(const ExecutionSpace &space, const GaussianPath &path) : m_path(path)
  {
    m_norm.t0 = path.t0;
    m_norm.span = path.t1 - path.t0;
    m_norm.shift.assign(path.dim, 0.0);
    auto host = Kokkos::View<double **, Kokkos::LayoutRight, Kokkos::HostSpace>("path", 4, path.dim);
    for (int r = 0; r < path.dim; ++r)
    {
      host(0, r) = path.mean0[r];
      host(1, r) = path.mean1[r];
      host(2, r) = path.std0[r];
      host(3, r) = path.std1[r];
    }
    m_params = Kokkos::create_mirror_view_and_copy(memory_space(), host);
    space.fence();
  }
  int dim() const override { return m_path.dim; }
  const Normalisation &normalisation() const override { return m_norm; }
  const GaussianPath &path() const { return m_path; }

  void draw(const ExecutionSpace &space, const Vector<Scalar, ExecutionSpace> &t,
            const Kokkos::View<std::uint64_t *, memory_space> &ids, RandomKey key,
            const MatrixRef<Scalar, ExecutionSpace> &u, const Vector<Scalar, ExecutionSpace> &mass) const override
  {
    const auto p = m_params;
    const int d = m_path.dim;
    Kokkos::parallel_for(
        "amk::GaussianSource::draw", policy(space, u.extent(1)), KOKKOS_LAMBDA(std::int64_t c) {
          const double tc = t(c);
          const RandomKey k = key(ids(c));
          for (int r = 0; r < d; r += 2) // both Box–Muller outputs: half the log/sqrt/cos
          {
            double z[2];
            k.normal_pair(std::uint64_t(r / 2) + 1, z[0], z[1]);
            for (int q = r; q < r + 2 && q < d; ++q)
              u(q, c) = Scalar((1 - tc) * p(0, q) + tc * p(1, q) + ((1 - tc) * p(2, q) + tc * p(3, q)) * z[q - r]);
          }
          mass(c) = 1;
        });
  }

private:
  GaussianPath m_path;
  Normalisation m_norm;
  Kokkos::View<double **, Kokkos::LayoutRight, memory_space> m_params;
};
} // namespace amk::data
