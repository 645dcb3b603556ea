#pragma once
// Where training samples come from: a source draws x ~ q_t for given normalised times t
// on the device, with each draw's mass. Snapshots of a data set here; the built-in paths'
// exact draws at any t are examples (examples/gaussian_source.hpp). Between snapshots x_t comes either from
// the nearest snapshot (for equally spaced snapshots the reference code's round(t·(K−1)))
// or, once couple() has paired adjacent snapshots (data/coupling.hpp), from the path
// x_t = (1 − τ)x_k + τx_{k+1} (+ σ√(τ(1 − τ)Δt) ξ, a Brownian bridge, for SDEs) of a random
// pair of its interval. At a snapshot's own time either gives that snapshot.
// Coordinates inside are normalised (data/normalisation.hpp).
// Masses: a drawn sample stands for N_k m_i of its snapshot's mass (it was drawn uniformly
// among N_k), reported relative to its snapshot's total M_k (mean 1: the importance weight
// of a balanced loss) or, for unbalanced AM, relative to the first snapshot's total M_0
// (so that the expectations are under the unnormalised measure, with q_0 of mass 1).
#include <amk/core/contracts.hpp>
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/core/types.hpp>
#include <amk/data/coupling.hpp>
#include <amk/data/normalisation.hpp>
#include <amk/data/shard.hpp>
#include <amk/data/snapshot_data.hpp>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

namespace amk::data
{

/// Which columns of a draw are boundary columns, and this rank's shares of the columns
/// (of its window's interior columns, of all boundary columns): a sharded source weighs a
/// draw from its slice of a snapshot by (slice / snapshot) / (its columns / all columns),
/// which makes the sum over ranks an unbiased estimate of the whole snapshot's expectation.
struct Columns
{
  std::int64_t boundary = std::int64_t(1) << 62; ///< columns from here on: t = 0 (q₀) or t = 1 (q₁)
  double interior_share = 1, boundary_share = 1;
};

template <class Scalar, class ExecutionSpace = DefaultExec> class Source
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::data::Source");

public:
  virtual ~Source() = default;
  virtual int dim() const = 0;
  virtual const Normalisation &normalisation() const = 0;
  /// The normalised snapshot times, all K (empty for a path defined at every t).
  virtual std::vector<double> snapshot_times() const { return {}; }
  /// The window this rank draws interior times from (a path: all of [0, 1]).
  virtual Window window() const { return Window(); }
  /// Bytes of data held (on the device): what a rank's share of the data costs.
  virtual std::size_t bytes() const { return 0; }
  /// This rank's share of the kinetic energy E = ½∫E|v|²dt of the path it draws from
  /// (normalised units), where the path is known to have one: the plain AM objective on it is
  /// then bounded below by −E (summed over ranks). None where it is not known.
  virtual std::optional<double> path_energy() const { return std::nullopt; }
  /// x̃_c ~ q_{t(c)} into rows 0…d−1 of u (input_size × n) and its mass into mass(c);
  /// ids(c) names the draw.
  virtual void draw(const ExecutionSpace &space, const Vector<Scalar, ExecutionSpace> &t,
                    const Kokkos::View<std::uint64_t *, typename ExecutionSpace::memory_space> &ids, RandomKey key,
                    const MatrixRef<Scalar, ExecutionSpace> &u, const Vector<Scalar, ExecutionSpace> &mass,
                    const Columns &columns = Columns()) const = 0;
};

/// One rank's shard of K snapshots (data/shard.hpp) held on the device: the snapshots of
/// its time window (a slice of each) and its slices of the first and last snapshot.
template <class Scalar, class ExecutionSpace = DefaultExec> class SnapshotSource : public Source<Scalar, ExecutionSpace>
{
public:
  using memory_space = typename ExecutionSpace::memory_space;

  /// \param stats      [in] the whole data set's statistics (data::statistics of the partial
  ///                        sums summed over ranks)
  /// \param normalise  [in] centre and scale x (else shift 0, scale 1)
  /// \param fixed      [in] use this normalisation instead (a resumed run keeps its own)
  /// \param unbalanced [in] masses relative to the first snapshot's total, not each one's own
  SnapshotSource(const ExecutionSpace &space, const Shard &shard, const Statistics &stats, bool normalise,
                 const Normalisation *fixed = nullptr, bool unbalanced = false)
      : m_dim(int(shard.dim))
  {
    const std::int64_t K = shard.snapshots(), d = shard.dim, n = shard.held_rows();
    m_norm.t0 = shard.times.front();
    m_norm.span = shard.times.back() - shard.times.front();
    m_norm.shift.assign(d, 0.0);
    if (fixed)
    {
      if (fixed->shift.size() != std::size_t(d) ||
          std::abs(fixed->t0 - m_norm.t0) > 1e-12 * (std::abs(m_norm.t0) + m_norm.span) ||
          std::abs(fixed->span - m_norm.span) > 1e-12 * m_norm.span)
      {
        std::ostringstream what;
        what << "train: the data has d = " << d << " and times [" << m_norm.t0 << ", " << m_norm.t0 + m_norm.span
             << "], but the checkpoint was trained on d = " << fixed->shift.size() << " and times [" << fixed->t0
             << ", " << fixed->t0 + fixed->span << "]; resume on the data it was trained on (moved data keeps both)";
        throw Error(what.str());
      }
      m_norm = *fixed;
    }
    else if (normalise)
    {
      m_norm.shift = stats.shift;
      m_norm.scale = stats.scale;
    }
    for (std::int64_t k = 0; k < K; ++k)
      m_times.push_back(m_norm.normalised_time(shard.times[std::size_t(k)]));
    m_window.index = shard.rank / shard.grid.sample;
    m_window.count = shard.grid.time;
    m_window.first = shard.window.front().snapshot;
    m_window.last = shard.window.back().snapshot;
    m_window.lo = m_times[std::size_t(m_window.first)];
    m_window.hi = m_times[std::size_t(m_window.last)];

    auto x_host = Kokkos::View<Scalar **, Kokkos::LayoutRight, Kokkos::HostSpace>("x", n, d);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t r = 0; r < d; ++r)
        x_host(i, r) = Scalar(m_norm.normalised_x(shard.x(i, r), std::size_t(r)));
    // the window's parts lie one after another among the rows held (sorted by row)
    const std::int64_t W = std::int64_t(shard.window.size());
    auto off_host = Kokkos::View<std::int64_t *, Kokkos::HostSpace>("offsets", W + 1);
    auto wt_host = Kokkos::View<double *, Kokkos::HostSpace>("times", W);
    auto share_host = Kokkos::View<double *, Kokkos::HostSpace>("share", W + 2);
    auto snapshot_rows = [&](std::int64_t k) { return shard.offsets[std::size_t(k + 1)] - shard.offsets[std::size_t(k)]; };
    for (std::int64_t j = 0; j < W; ++j)
    {
      const ShardPart &p = shard.window[std::size_t(j)];
      off_host(j) = shard.local(p.row);
      require(j == 0 || off_host(j) == off_host(j - 1) + shard.window[std::size_t(j - 1)].rows,
              "shard: the window's parts are not contiguous");
      wt_host(j) = m_times[std::size_t(p.snapshot)];
      share_host(j) = double(p.rows) / double(snapshot_rows(p.snapshot));
      m_window_share.push_back(share_host(j));
    }
    off_host(W) = off_host(W - 1) + shard.window.back().rows;
    auto bound_host = Kokkos::View<std::int64_t *, Kokkos::HostSpace>("boundary", 4);
    bound_host(0) = shard.local(shard.boundary0.row);
    bound_host(1) = shard.boundary0.rows;
    bound_host(2) = shard.local(shard.boundary1.row);
    bound_host(3) = shard.boundary1.rows;
    share_host(W) = double(shard.boundary0.rows) / double(snapshot_rows(0));
    share_host(W + 1) = double(shard.boundary1.rows) / double(snapshot_rows(K - 1));

    const bool weighted = !shard.mass.empty() || (unbalanced && !shard.snapshot_mass.empty());
    if (weighted)
    { // a sample drawn uniformly among snapshot k's N_k stands for N_k m_i of its mass M_k
      auto mass_host = Kokkos::View<Scalar *, Kokkos::HostSpace>("mass", n);
      for_each_row(shard.offsets, shard.ranges,
                   [&](std::int64_t i, std::int64_t, std::int64_t k)
                   {
                     const double n_k = double(snapshot_rows(k)), total = stats.total_mass[std::size_t(k)];
                     const double m_i = shard.mass.empty() ? total / n_k : shard.mass[std::size_t(i)];
                     mass_host(i) = Scalar(n_k * m_i / (unbalanced ? stats.total_mass[0] : total));
                   });
      m_mass = Kokkos::create_mirror_view_and_copy(memory_space(), mass_host);
    }
    m_x = Kokkos::create_mirror_view_and_copy(memory_space(), x_host);
    m_offsets = Kokkos::create_mirror_view_and_copy(memory_space(), off_host);
    m_window_times = Kokkos::create_mirror_view_and_copy(memory_space(), wt_host);
    m_share = Kokkos::create_mirror_view_and_copy(memory_space(), share_host);
    m_boundary = Kokkos::create_mirror_view_and_copy(memory_space(), bound_host);
    space.fence();
  }

  /// The whole of a data set in memory on one rank.
  SnapshotSource(const ExecutionSpace &space, const SnapshotData &data, bool normalise,
                 const Normalisation *fixed = nullptr, bool unbalanced = false)
      : SnapshotSource(space, Whole(data), normalise, fixed, unbalanced)
  {
  }

  int dim() const override { return m_dim; }
  const Normalisation &normalisation() const override { return m_norm; }
  std::vector<double> snapshot_times() const override { return m_times; }
  Window window() const override { return m_window; }

  /// Couples each pair of the window's adjacent snapshots (minibatch OT with both marginals
  /// exact, data::couple_adjacent, keyed by the global snapshot index: a window of whole
  /// snapshots is coupled exactly as on one rank); from then on draw() samples the coupled path.
  /// \param bridge_sigma [in] σ̃ per interval of the whole data set (normalised): Brownian
  ///                         bridges of that diffusion with the matching entropic coupling
  ///                         (empty: straight lines)
  void couple(const ExecutionSpace &space, const CouplingOptions &options, const std::vector<double> &bridge_sigma,
              std::uint64_t seed)
  {
    auto offsets = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_offsets);
    std::vector<double> epsilon, sigma; // σ̃²Δt per interval of the window
    for (std::int64_t k = m_window.first; k < m_window.last && !bridge_sigma.empty(); ++k)
    {
      sigma.push_back(bridge_sigma[std::size_t(k)]);
      epsilon.push_back(sigma.back() * sigma.back() * (m_times[std::size_t(k + 1)] - m_times[std::size_t(k)]));
    }
    const CoupledPairs pairs = couple_adjacent(
        space, m_x, std::vector<std::int64_t>(offsets.data(), offsets.data() + offsets.extent(0)), options, epsilon,
        seed, m_window.first);
    const std::size_t P = pairs.from.size();
    const std::int64_t intervals = pairs.intervals();
    Kokkos::View<std::int64_t *, Kokkos::HostSpace> from("from", P), to("to", P), begin("begin", intervals + 1);
    Kokkos::View<double *, Kokkos::HostSpace> cumulative("cumulative", P);
    Kokkos::View<int *, Kokkos::HostSpace> uniform("uniform", intervals);
    m_path_square = pairs.square_length;
    for (std::int64_t k = 0; k <= intervals; ++k)
      begin(k) = pairs.begin[std::size_t(k)];
    for (std::int64_t k = 0; k < intervals; ++k)
    {
      uniform(k) = pairs.uniform[std::size_t(k)] ? 1 : 0;
      double acc = 0;
      for (std::int64_t p = begin(k); p < begin(k + 1); ++p)
      {
        from(p) = pairs.from[std::size_t(p)];
        to(p) = pairs.to[std::size_t(p)];
        acc += pairs.weight[std::size_t(p)];
        cumulative(p) = acc;
      }
    }
    m_pair_from = Kokkos::create_mirror_view_and_copy(memory_space(), from);
    m_pair_to = Kokkos::create_mirror_view_and_copy(memory_space(), to);
    m_pair_begin = Kokkos::create_mirror_view_and_copy(memory_space(), begin);
    m_pair_cumulative = Kokkos::create_mirror_view_and_copy(memory_space(), cumulative);
    m_pair_uniform = Kokkos::create_mirror_view_and_copy(memory_space(), uniform);
    Kokkos::View<double *, Kokkos::HostSpace> b("bridge", sigma.size());
    for (std::size_t k = 0; k < sigma.size(); ++k)
      b(k) = sigma[k];
    m_bridge = Kokkos::create_mirror_view_and_copy(memory_space(), b);
    space.fence();
  }
  /// Per interval of the window: E|x_{k+1} − x_k|² over its coupled pairs (normalised
  /// coordinates; empty before couple()). The straight path's kinetic energy is
  /// ½ Σ_k that / Δt_k: the plain AM objective on the path is bounded below by minus it.
  const std::vector<double> &path_square_lengths() const { return m_path_square; }
  /// Straight coupled paths: ½ Σ_k share_k E|Δx|²/Δt_k over the window's intervals (Brownian
  /// bridges have none: their drift's square diverges at the ends).
  std::optional<double> path_energy() const override
  {
    if (!coupled() || m_bridge.extent(0) > 0)
      return std::nullopt;
    double energy = 0;
    for (std::size_t k = 0; k < m_path_square.size(); ++k)
    {
      const std::size_t snapshot = std::size_t(m_window.first) + k;
      energy += 0.5 * m_window_share[k] * m_path_square[k] / (m_times[snapshot + 1] - m_times[snapshot]);
    }
    return energy;
  }
  bool coupled() const { return m_pair_begin.extent(0) > 0; }
  std::size_t bytes() const override
  {
    return m_x.span() * sizeof(Scalar) + m_mass.span() * sizeof(Scalar) + m_offsets.span() * sizeof(std::int64_t) +
           m_window_times.span() * sizeof(double) + m_share.span() * sizeof(double) +
           m_boundary.span() * sizeof(std::int64_t) + (m_pair_from.span() + m_pair_to.span()) * sizeof(std::int64_t) +
           m_pair_cumulative.span() * sizeof(double) +
           m_bridge.span() * sizeof(double);
  }

  void draw(const ExecutionSpace &space, const Vector<Scalar, ExecutionSpace> &t,
            const Kokkos::View<std::uint64_t *, memory_space> &ids, RandomKey key,
            const MatrixRef<Scalar, ExecutionSpace> &u, const Vector<Scalar, ExecutionSpace> &mass,
            const Columns &columns = Columns()) const override
  {
    const auto x = m_x;
    const auto sample_mass = m_mass;
    const bool weighted = m_mass.extent(0) > 0, coupled = this->coupled(), bridged = m_bridge.extent(0) > 0;
    const auto offsets = m_offsets;
    const auto times = m_window_times;
    const auto share = m_share;
    const auto boundary = m_boundary;
    const auto pair_from = m_pair_from, pair_to = m_pair_to, pair_begin = m_pair_begin;
    const auto pair_cumulative = m_pair_cumulative;
    const auto pair_uniform = m_pair_uniform;
    const auto bridge = m_bridge;
    const int d = m_dim;
    const int K = int(times.extent(0));
    const std::int64_t first_boundary = columns.boundary;
    const double per_interior = 1 / columns.interior_share, per_boundary = 1 / columns.boundary_share;
    Kokkos::parallel_for(
        "amk::SnapshotSource::draw", policy(space, u.extent(1)), KOKKOS_LAMBDA(std::int64_t c) {
          const double tc = t(c);
          const RandomKey draw = key(ids(c));
          if (c >= first_boundary) // this rank's slice of the first or the last snapshot
          {
            const int end = tc < 0.5 ? 0 : 1;
            const std::int64_t row = boundary(2 * end) + draw.index(0, boundary(2 * end + 1));
            for (int r = 0; r < d; ++r)
              u(r, c) = x(row, r);
            mass(c) = Scalar((weighted ? double(sample_mass(row)) : 1.0) * share(K + end) * per_boundary);
            return;
          }
          // first window snapshot k with times(k) >= t
          int lo = 0, hi = K - 1;
          while (lo < hi)
          {
            const int mid = (lo + hi) / 2;
            if (times(mid) < tc)
              lo = mid + 1;
            else
              hi = mid;
          }
          if (coupled && lo > 0 && times(lo) != tc)
          { // strictly inside interval k = lo − 1: a random pair of its coupling
            const int k = lo - 1;
            const double dt = times(k + 1) - times(k), tau = (tc - times(k)) / dt;
            const std::int64_t first = pair_begin(k), count = pair_begin(k + 1) - first;
            std::int64_t p = first;
            if (pair_uniform(k)) // one pair per row of k, as the row itself is drawn
              p += draw.index(0, count);
            else // the first pair whose cumulative probability exceeds the level
            {
              const double level = draw.uniform(0) * pair_cumulative(first + count - 1);
              std::int64_t a = first, b = first + count - 1;
              while (a < b)
              {
                const std::int64_t mid = (a + b) / 2;
                if (pair_cumulative(mid) <= level)
                  a = mid + 1;
                else
                  b = mid;
              }
              p = a;
            }
            const std::int64_t i = pair_from(p), j = pair_to(p);
            const double spread = bridged ? bridge(k) * math::sqrt(tau * (1 - tau) * dt) : 0.0;
            for (int r = 0; r < d; ++r)
              u(r, c) = Scalar((1 - tau) * double(x(i, r)) + tau * double(x(j, r)) +
                               (bridged ? spread * draw.normal(std::uint64_t(r) + 1) : 0.0));
            const double m = weighted ? math::exp((1 - tau) * math::log(double(sample_mass(i))) +
                                                  tau * math::log(double(sample_mass(j))))
                                      : 1.0;
            mass(c) = Scalar(m * share(k) * per_interior);
            return;
          }
          int k = lo; // the nearest snapshot
          if (k > 0 && tc - times(k - 1) <= times(k) - tc)
            k = k - 1;
          const std::int64_t n = offsets(k + 1) - offsets(k);
          const std::int64_t row = offsets(k) + draw.index(0, n);
          for (int r = 0; r < d; ++r)
            u(r, c) = x(row, r);
          mass(c) = Scalar((weighted ? double(sample_mass(row)) : 1.0) * share(k) * per_interior);
        });
  }

private:
  /// A data set in memory as the one shard of one rank, with its statistics.
  struct Whole
  {
    Shard shard;
    Statistics stats;
    explicit Whole(const SnapshotData &data)
        : shard(shard_of(data, RankGrid(), 0)), stats(statistics(shard, partial_sums(shard)))
    {
    }
  };
  SnapshotSource(const ExecutionSpace &space, const Whole &whole, bool normalise, const Normalisation *fixed,
                 bool unbalanced)
      : SnapshotSource(space, whole.shard, whole.stats, normalise, fixed, unbalanced)
  {
  }

  int m_dim;
  Normalisation m_norm;
  std::vector<double> m_times; ///< all K, normalised
  Window m_window;
  Kokkos::View<Scalar **, Kokkos::LayoutRight, memory_space> m_x; ///< the rows held, normalised
  Vector<Scalar, ExecutionSpace> m_mass;                          ///< per row held (empty: all 1)
  Kokkos::View<std::int64_t *, memory_space> m_offsets;           ///< window snapshot j: rows offsets(j) … offsets(j+1)−1
  Kokkos::View<double *, memory_space> m_window_times;            ///< window snapshot j's time
  Kokkos::View<double *, memory_space> m_share;     ///< slice/snapshot of window snapshot j, then of the two boundary slices
  Kokkos::View<std::int64_t *, memory_space> m_boundary; ///< first row and rows of the q₀ slice, then of the q₁ slice
  // the coupling (data/coupling.hpp): pairs of rows held, interval k's from m_pair_begin(k)
  Kokkos::View<std::int64_t *, memory_space> m_pair_from, m_pair_to, m_pair_begin;
  Kokkos::View<double *, memory_space> m_pair_cumulative; ///< within its interval
  Kokkos::View<int *, memory_space> m_pair_uniform;       ///< interval k: one pair per row, equal weights
  std::vector<double> m_path_square;                      ///< per interval: E|Δx|² over its pairs
  std::vector<double> m_window_share;                     ///< window snapshot j: slice / snapshot (host)
  Kokkos::View<double *, memory_space> m_bridge;         ///< per window interval: σ̃ of its Brownian bridges
};

} // namespace amk::data
