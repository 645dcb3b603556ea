#pragma once
// Couplings between adjacent snapshots: the pairs (x_k, x_{k+1}) that turn K snapshots into
// a continuous path, x_t = (1 − τ) x_k + τ x_{k+1} (+ a Brownian bridge for SDEs), so that
// the Action Matching objective is bounded below between snapshots (am/batch.hpp, README
// "Time in the loss").
//
// Minibatch optimal transport, as TorchCFM does for flow matching: both snapshots are
// shuffled and cut into matching chunks of about `batch` samples (of equal mass: a sample on a
// cut shares its mass between two chunks), and each chunk pair is coupled, with cost ½|x − y|²:
//   straight lines: exact OT on the host, the chunks spread over its threads; for snapshots
//     of equal size an assignment by Bertsekas' auction algorithm (one row bidding at a time,
//     ε-scaling down to a relative ε: optimal within n·ε of the total cost; data/transport.hpp),
//     for unequal sizes a transport plan by the network simplex;
//   Brownian bridges (SDEs): entropic OT with ε = σ²Δt, the static Schrödinger bridge of
//     Brownian motion with diffusion σ (as simulation-free Schrödinger bridges do), by
//     log-domain Sinkhorn; each sample draws its partner from its plan row.
// Either way the pairs' two marginals are exactly the two snapshots (CoupledPairs).
#include <amk/core/choice.hpp>
#include <amk/core/error.hpp>
#include <amk/core/host_jobs.hpp>
#include <amk/core/random.hpp>
#include <amk/core/types.hpp>
#include <amk/data/transport.hpp>
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

namespace amk::data
{
/// What joins a coupled pair between adjacent snapshots.
enum class CouplingPath
{
  straight, ///< straight lines between exact-OT pairs
  bridge    ///< Brownian bridges of the diffusion between entropic-OT pairs (SDEs)
};

inline const std::vector<Named<CouplingPath>> &choices(CouplingPath)
{
  static const std::vector<Named<CouplingPath>> table = {{CouplingPath::straight, "straight"},
                                                         {CouplingPath::bridge, "bridge"}};
  return table;
}

struct CouplingOptions
{
  int batch = 512;        ///< samples per OT chunk (of the larger snapshot)
  double epsilon = 1e-3;  ///< the auction's resolution relative to the chunk's mean cost (bridges sharper than it: the assignment)
  int max_iterations = 2000;
  /// largest relative error of a row marginal at convergence: 1 %, below the ~4 % sampling
  /// noise of a 512-sample chunk (1e-3 took 5x the iterations for the same plan statistics)
  double tolerance = 1e-2;
  /// over-relaxed Sinkhorn at the final ε (Thibault et al. 2017): f ← (1 − ω) f + ω f_update;
  /// 1.5 cut the final stage's iterations by 1.4x (1.8: 1.5x) on Gaussian paths
  double relaxation = 1.5;
  int threads = 0; ///< host threads for the straight chunks (0: all of the machine's)
};

namespace impl
{
/// C(i, j) = ½|x_i − y_j|² for the rows of X (n × d) and Y (m × d); returns the mean cost.
template <class ExecutionSpace, class XV, class CV>
double half_squared_distances(const ExecutionSpace &space, const XV &X, const XV &Y, const CV &C)
{
  const std::int64_t n = X.extent(0), m = Y.extent(0), d = X.extent(1);
  double total = 0;
  Kokkos::parallel_reduce(
      "amk::coupling::cost", policy(space, n * m),
      KOKKOS_LAMBDA(std::int64_t k, double &acc) {
        const std::int64_t i = k / m, j = k % m;
        double c = 0;
        for (std::int64_t r = 0; r < d; ++r)
        {
          const double e = double(X(i, r)) - double(Y(j, r));
          c += e * e;
        }
        C(i, j) = c / 2;
        acc += c / 2;
      },
      total);
  return std::max(total / double(n * m), 1e-300);
}

/// The auction on a given cost matrix (n × m0, `mean_cost` its mean); see auction_partners.
template <class ExecutionSpace, class CV>
std::vector<std::int64_t> auction_on_cost(const ExecutionSpace &space, const CV &cost, double mean_cost,
                                          double eps_relative)
{
  using memory_space = typename ExecutionSpace::memory_space;
  const std::int64_t n = cost.extent(0), m0 = cost.extent(1);
  const std::int64_t copies = (n + m0 - 1) / m0, m = copies * m0; // objects: Y repeated
  const std::int64_t persons = m;                                   // rows n … m − 1: dummies
  Kokkos::View<double *, memory_space> price("amk::auction::price", m), best("amk::auction::best", m),
      bid("amk::auction::bid", persons);
  Kokkos::View<std::int64_t *, memory_space> owner("amk::auction::owner", m), claim("amk::auction::claim", m),
      assigned("amk::auction::assigned", persons), target("amk::auction::target", persons);
  const double eps_final = eps_relative * mean_cost;
  constexpr double lowest = -1e300;
  Kokkos::deep_copy(space, best, lowest);
  Kokkos::deep_copy(space, claim, std::int64_t(-1));
  for (double eps = std::max(mean_cost / 4, eps_final);; eps = std::max(eps / 5, eps_final))
  {
    Kokkos::deep_copy(space, owner, std::int64_t(-1));
    Kokkos::deep_copy(space, assigned, std::int64_t(-1));
    for (int round = 0;; ++round)
    {
      require(round < 1000000, "coupling: the auction did not terminate");
      // bids: the best and second-best value a_ij − p_j of every unassigned row
      Kokkos::parallel_for(
          "amk::auction::bid", policy(space, persons), KOKKOS_LAMBDA(std::int64_t i) {
            if (assigned(i) >= 0)
              return;
            const bool dummy = i >= n;
            double v1 = lowest, v2 = lowest;
            std::int64_t j1 = 0;
            for (std::int64_t copy = 0, j = 0; copy < copies; ++copy) // objects j = copy·m0 + jj
              for (std::int64_t jj = 0; jj < m0; ++jj, ++j)
              {
                const double v = -(dummy ? 0.0 : cost(i, jj)) - price(j); // benefit − price
                if (v > v2) // rare after the first few: the branch predictor keeps this cheap
                {
                  if (v > v1)
                  {
                    v2 = v1;
                    v1 = v;
                    j1 = j;
                  }
                  else
                    v2 = v;
                }
              }
            const double increment = m > 1 ? v1 - v2 + eps : eps;
            target(i) = j1;
            bid(i) = price(j1) + increment;
            Kokkos::atomic_fetch_max(&best(j1), bid(i));
          });
      // each object takes its highest bidder (the first to claim it on ties)
      Kokkos::parallel_for(
          "amk::auction::claim", policy(space, persons), KOKKOS_LAMBDA(std::int64_t i) {
            if (assigned(i) < 0 && bid(i) == best(target(i)))
              Kokkos::atomic_compare_exchange(&claim(target(i)), std::int64_t(-1), i);
          });
      Kokkos::parallel_for(
          "amk::auction::assign", policy(space, m), KOKKOS_LAMBDA(std::int64_t j) {
            const std::int64_t i = claim(j);
            if (i < 0)
              return;
            if (owner(j) >= 0)
              assigned(owner(j)) = -1; // outbid: a previous owner bids again
            owner(j) = i;
            assigned(i) = j;
            price(j) = best(j);
            best(j) = lowest;
            claim(j) = -1;
          });
      std::int64_t left = 0;
      Kokkos::parallel_reduce(
          "amk::auction::unassigned", policy(space, persons),
          KOKKOS_LAMBDA(std::int64_t i, std::int64_t & acc) { acc += assigned(i) < 0 ? 1 : 0; }, left);
      if (left == 0)
        break;
    }
    if (eps <= eps_final)
      break;
  }
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), assigned);
  std::vector<std::int64_t> partner(n);
  for (std::int64_t i = 0; i < n; ++i)
    partner[i] = h(i) % m0;
  return partner;
}

/// One log-domain Sinkhorn half-step over the rows of cost: out_i = ε log_marginal −
/// ε LSE_j((other_j − cost_ij)/ε), relaxed by ω. Two contiguous passes per row (the maximum,
/// then Σ e^{v − max} with the vectorising float exp: the partners are drawn from the plan,
/// a few ulp of float do not matter). (A function, not a lambda: nvcc allows no device
/// lambda inside a generic lambda.)
template <class ExecutionSpace, class CostView, class Vec>
void lse_update(const ExecutionSpace &space, const char *label, const CostView &cost, const Vec &other, const Vec &out,
                double log_marginal, double eps, double omega)
{
  const std::int64_t rows = cost.extent(0), cols = cost.extent(1);
  Kokkos::parallel_for(
      label, policy(space, rows), KOKKOS_LAMBDA(std::int64_t i) {
        const double *KOKKOS_RESTRICT c = &cost(i, 0);
        const double *KOKKOS_RESTRICT theirs = other.data();
        double top = -1e300;
        for (std::int64_t j = 0; j < cols; ++j)
          top = top > theirs[j] - c[j] ? top : theirs[j] - c[j];
        float sum = 0;
        for (std::int64_t j = 0; j < cols; ++j)
          sum += math::exp_fast(float((theirs[j] - c[j] - top) / eps));
        const double update = eps * log_marginal - (top + eps * math::log(double(sum)));
        out(i) = omega == 1 ? update : (1 - omega) * out(i) + omega * update;
      });
}

/// Log-domain Sinkhorn between the rows X (n × d) and Y (m × d) with uniform marginals and
/// cost ½|x − y|², annealing ε from the mean cost down to eps; then row i draws its partner
/// from π(i, ·) with key(i). Returns the partners (indices into Y) on the host.
/// Sinkhorn takes about 1.5/(ε/mean cost) iterations; a plan sharper than the auction's own
/// resolution (ε below o.epsilon × the mean cost) is the assignment, and the auction finds it
/// in a fraction of the time.
template <class ExecutionSpace, class XV>
std::vector<std::int64_t> sinkhorn_partners(const ExecutionSpace &space, const XV &X, const XV &Y, double target,
                                            const CouplingOptions &o, RandomKey key)
{
  using memory_space = typename ExecutionSpace::memory_space;
  const std::int64_t n = X.extent(0), m = Y.extent(0);
  Kokkos::View<double **, Kokkos::LayoutRight, memory_space> C("amk::coupling::cost", n, m);
  const double mean_cost = half_squared_distances(space, X, Y, C);
  if (target < o.epsilon * mean_cost)
    return auction_on_cost(space, C, mean_cost, o.epsilon);
  Kokkos::View<double *, memory_space> f("amk::coupling::f", n), g("amk::coupling::g", m);
  Kokkos::View<std::int64_t *, memory_space> partner("amk::coupling::partner", n);
  const double log_a = -std::log(double(n)), log_b = -std::log(double(m));
  // f_i = ε log a_i − ε LSE_j((g_j − C_ij)/ε), and g alike over the transposed cost
  Kokkos::View<double **, Kokkos::LayoutRight, memory_space> Ct("amk::coupling::cost_t", m, n);
  Kokkos::parallel_for(
      "amk::coupling::transpose", policy(space, n * m), KOKKOS_LAMBDA(std::int64_t k) {
        Ct(k % m, k / m) = C(k / m, k % m);
      });
  auto update_f = [&](double eps, double omega)
  { impl::lse_update(space, "amk::coupling::f", C, g, f, log_a, eps, omega); };
  auto update_g = [&](double eps, double omega)
  { impl::lse_update(space, "amk::coupling::g", Ct, f, g, log_b, eps, omega); };
  // the largest relative error of a row marginal (after a g update the columns are exact)
  auto row_error = [&](double eps)
  {
    double worst = 0;
    Kokkos::parallel_reduce(
        "amk::coupling::marginal", policy(space, n),
        KOKKOS_LAMBDA(std::int64_t i, double &acc) {
          const double *KOKKOS_RESTRICT c = &C(i, 0);
          const double *KOKKOS_RESTRICT gj = g.data();
          float row = 0;
          for (std::int64_t j = 0; j < m; ++j)
            row += math::exp_fast(float((f(i) + gj[j] - c[j]) / eps));
          const double e = double(row) * double(n) - 1;
          acc = acc > (e < 0 ? -e : e) ? acc : (e < 0 ? -e : e);
        },
        Kokkos::Max<double>(worst));
    return worst;
  };
  double eps = std::max(mean_cost, target);
  int iterations = 0;
  while (true)
  {
    const bool last = eps <= target;
    for (int it = 0; it < (last ? o.max_iterations : 20) && iterations < 4 * o.max_iterations; ++it, ++iterations)
    {
      const double omega = last && it > 0 ? o.relaxation : 1.0;
      update_f(eps, omega);
      update_g(eps, 1.0);
      if (last && it % 10 == 9 && row_error(eps) < o.tolerance)
        break;
    }
    if (last)
      break;
    eps = std::max(eps / 4, target);
  }
  require(row_error(eps) < 10 * o.tolerance, "coupling: Sinkhorn did not converge (raise --coupling-epsilon)");
  Kokkos::parallel_for(
      "amk::coupling::draw", policy(space, n), KOKKOS_LAMBDA(std::int64_t i) {
        double row = 0;
        for (std::int64_t j = 0; j < m; ++j)
          row += math::exp((f(i) + g(j) - C(i, j)) / eps);
        const double u = key.uniform(std::uint64_t(i)) * row;
        double acc = 0;
        std::int64_t pick = m - 1;
        for (std::int64_t j = 0; j < m; ++j)
        {
          acc += math::exp((f(i) + g(j) - C(i, j)) / eps);
          if (acc > u)
          {
            pick = j;
            break;
          }
        }
        partner(i) = pick;
      });
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), partner);
  return std::vector<std::int64_t>(h.data(), h.data() + n);
}
} // namespace impl

/// Exact OT between the rows X (n × d) and Y (m × d) with cost ½|x − y|²: an assignment of
/// every row of X to a distinct row of Y (rows of Y repeated when n > m), by the auction
/// algorithm with ε-scaling (Bertsekas 1988; Jacobi bidding: every unassigned row bids at
/// once, each object takes its highest bid). With more objects than rows, zero-cost dummy
/// rows make the problem square (the forward auction is optimal only for square ones).
/// Returns the partners (indices into Y).
template <class ExecutionSpace, class XV>
std::vector<std::int64_t> auction_partners(const ExecutionSpace &space, const XV &X, const XV &Y, double eps_relative)
{
  Kokkos::View<double **, Kokkos::LayoutRight, typename ExecutionSpace::memory_space> cost("amk::auction::cost",
                                                                                         X.extent(0), Y.extent(0));
  const double mean_cost = impl::half_squared_distances(space, X, Y, cost);
  return impl::auction_on_cost(space, cost, mean_cost, eps_relative);
}

/// A coupling of each pair of adjacent snapshots: pairs (from, to) of rows, each with its
/// probability within its interval. Its marginals are exactly the two snapshots' empirical
/// distributions (every row of snapshot k carries 1/N_k of the first, every row of k + 1 1/N_{k+1}
/// of the second), so the coupled path is continuous at every snapshot time and the AM objective
/// on it is bounded below (am/batch.hpp). With unequal snapshot sizes (growing or dying
/// populations, unequal sampling) a one-to-one assignment cannot be that: it leaves rows of the
/// larger snapshot out of one interval's end and in the next one's start, a jump in q_t that the
/// objective rewards without bound.
struct CoupledPairs
{
  std::vector<std::int64_t> from, to; ///< rows of x (snapshot k, snapshot k + 1)
  std::vector<double> weight;         ///< probability of each pair within its interval
  std::vector<std::int64_t> begin;    ///< interval k's pairs: begin[k] … begin[k + 1] − 1
  std::vector<bool> uniform;          ///< interval k: one pair per row of k, all of weight 1/N_k (in row order)
  std::vector<double> square_length;  ///< interval k: E|x_{k+1} − x_k|² over its pairs
  std::int64_t intervals() const { return std::int64_t(begin.size()) - 1; }
};

namespace impl
{
/// One chunk of an interval: rows of the two snapshots with the share of their mass that lies
/// in the chunk (in units of 1/(N_k N_{k+1}) of the interval's total), and its pairs.
struct Chunk
{
  std::vector<std::int64_t> from, to;               ///< rows of x
  std::vector<std::int64_t> from_share, to_share;   ///< units of each row in this chunk
  std::vector<std::int64_t> pair_from, pair_to;     ///< indices into from / to
  std::vector<double> pair_units;
};

/// Makes the chunk's second marginal exact: where a `to` row holds more than its share,
/// weight moves from one of its pairs (i, j) to a pair (i, j′) with j′ a row holding less,
/// the move that adds the least cost c(i, j′) − c(i, j). The first marginal is left as it is.
inline void repair_second_marginal(Chunk &c, const std::function<double(std::int64_t, std::int64_t)> &cost)
{
  const std::size_t rows = c.to.size();
  std::vector<double> held(rows, 0.0);
  std::vector<std::vector<std::size_t>> pairs_of(rows);
  for (std::size_t p = 0; p < c.pair_to.size(); ++p)
  {
    held[std::size_t(c.pair_to[p])] += c.pair_units[p];
    pairs_of[std::size_t(c.pair_to[p])].push_back(p);
  }
  const double tolerance = 1e-9;
  auto excess = [&](std::size_t j) { return held[j] - double(c.to_share[j]); };
  for (std::size_t j = 0; j < rows; ++j)
    while (excess(j) > tolerance)
    {
      std::size_t best_pair = 0, best_row = rows;
      double best_cost = 0;
      for (const std::size_t p : pairs_of[j])
        if (c.pair_units[p] > 0)
        {
          const std::int64_t i = c.from[std::size_t(c.pair_from[p])];
          const double here = cost(i, c.to[j]);
          for (std::size_t r = 0; r < rows; ++r)
            if (excess(r) < -tolerance)
            {
              const double added = cost(i, c.to[r]) - here;
              if (best_row == rows || added < best_cost)
              {
                best_row = r;
                best_pair = p;
                best_cost = added;
              }
            }
        }
      require(best_row < rows, "coupling: the plan's marginal could not be made exact");
      const double moved = std::min({excess(j), c.pair_units[best_pair], -excess(best_row)});
      c.pair_units[best_pair] -= moved;
      held[j] -= moved;
      held[best_row] += moved;
      c.pair_from.push_back(c.pair_from[best_pair]);
      c.pair_to.push_back(std::int64_t(best_row));
      c.pair_units.push_back(moved);
      pairs_of[best_row].push_back(c.pair_units.size() - 1);
    }
}

/// Cuts `rows` (each of `unit` units) at the units [lo, hi): the rows that overlap, with their share.
inline void cut(const std::vector<std::int64_t> &rows, std::int64_t unit, std::int64_t lo, std::int64_t hi,
                std::vector<std::int64_t> &out, std::vector<std::int64_t> &share)
{
  for (std::int64_t i = lo / unit; i < std::int64_t(rows.size()) && i * unit < hi; ++i)
  {
    const std::int64_t a = std::max(lo, i * unit), b = std::min(hi, (i + 1) * unit);
    if (b > a)
    {
      out.push_back(rows[std::size_t(i)]);
      share.push_back(b - a);
    }
  }
}
} // namespace impl

/// Couples every pair of adjacent snapshots 0 … K−1 (rows of x, N × d, grouped by `offsets`) by
/// minibatch OT (see the file comment). Both snapshots are shuffled, and their masses (1/N_k a
/// row, 1/N_{k+1} a row) cut at the same places into chunks of about o.batch rows, a row on a
/// cut sharing its mass between two chunks: every chunk holds as much of one snapshot as of the
/// other, and the chunks' plans add up to a coupling whose marginals are exactly the two
/// snapshots. In each chunk: straight lines, exact OT (the auction where the chunk is one row
/// each of equal mass, else the network simplex, data/transport.hpp); bridges, the rows of the
/// side with more rows draw partners from the entropic plan, and weight then moves to the other
/// side's rows that hold less than their share (impl::repair_second_marginal).
/// \param bridge [in] per interval: ε = σ²Δt of a Brownian bridge (empty: straight lines,
///                   ε = o.epsilon × the chunk's mean cost)
/// \param first_snapshot [in] the global index of snapshot 0 here (random streams are keyed by it)
template <class ExecutionSpace, class XV>
CoupledPairs couple_adjacent(const ExecutionSpace &space, const XV &x, const std::vector<std::int64_t> &offsets,
                             const CouplingOptions &o, const std::vector<double> &bridge, std::uint64_t seed,
                             std::int64_t first_snapshot = 0)
{
  using memory_space = typename ExecutionSpace::memory_space;
  require(o.batch >= 2, "coupling: --coupling-batch must be at least 2");
  require(o.epsilon > 0 && std::isfinite(o.epsilon), "coupling: --coupling-epsilon must be positive");
  const std::int64_t K = std::int64_t(offsets.size()) - 1, d = x.extent(1);
  const auto x_host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  auto cost = [&](std::int64_t i, std::int64_t j)
  {
    double c = 0;
    for (std::int64_t r = 0; r < d; ++r)
    {
      const double e = double(x_host(i, r)) - double(x_host(j, r));
      c += e * e;
    }
    return c / 2;
  };
  const RandomKey key = RandomKey(seed)(0xc0de);
  auto shuffled = [&](std::int64_t k)
  {
    std::vector<std::int64_t> rows(offsets[k + 1] - offsets[k]);
    std::iota(rows.begin(), rows.end(), offsets[k]);
    const RandomKey shuffle = key(std::uint64_t(first_snapshot + k))(1);
    for (std::size_t i = 0; i + 1 < rows.size(); ++i)
      std::swap(rows[i], rows[i + shuffle.index(i, std::int64_t(rows.size() - i))]);
    return rows;
  };
  // rows (host list) gathered into a device block
  auto gather = [&](const std::vector<std::int64_t> &rows)
  {
    Kokkos::View<std::int64_t *, Kokkos::HostSpace> ids("ids", rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
      ids(i) = rows[i];
    const auto dev = Kokkos::create_mirror_view_and_copy(memory_space(), ids);
    Kokkos::View<double **, Kokkos::LayoutRight, memory_space> block("amk::coupling::block", rows.size(), d);
    Kokkos::parallel_for(
        "amk::coupling::gather", policy(space, std::int64_t(rows.size())), KOKKOS_LAMBDA(std::int64_t i) {
          for (std::int64_t r = 0; r < d; ++r)
            block(i, r) = double(x(dev(i), r));
        });
    return block;
  };
  // 1. every interval's chunks (the shuffles are cheap; one pass)
  std::vector<std::vector<impl::Chunk>> chunks(std::size_t(std::max<std::int64_t>(K - 1, 0)));
  std::vector<std::int64_t> totals(chunks.size());
  std::vector<std::int64_t> to = shuffled(0);
  for (std::int64_t k = 0; k + 1 < K; ++k)
  {
    const auto from = std::move(to); // snapshot k's shuffle, made as interval k − 1's target
    to = shuffled(k + 1);
    const std::int64_t nk = std::int64_t(from.size()), nn = std::int64_t(to.size()), total = nk * nn;
    const std::int64_t count = std::max<std::int64_t>(1, (std::max(nk, nn) + o.batch - 1) / o.batch);
    totals[std::size_t(k)] = total;
    for (std::int64_t c = 0; c < count; ++c)
    {
      impl::Chunk chunk;
      if (nk == nn) // whole rows, as many of each: a chunk of one share per row
      {
        for (std::int64_t i = nk * c / count; i < nk * (c + 1) / count; ++i)
        {
          chunk.from.push_back(from[std::size_t(i)]);
          chunk.to.push_back(to[std::size_t(i)]);
        }
        chunk.from_share.assign(chunk.from.size(), nn);
        chunk.to_share.assign(chunk.to.size(), nk);
      }
      else // the same units of both snapshots
      {
        const std::int64_t lo = total / count * c + std::min(c, total % count),
                           hi = total / count * (c + 1) + std::min(c + 1, total % count);
        impl::cut(from, nn, lo, hi, chunk.from, chunk.from_share);
        impl::cut(to, nk, lo, hi, chunk.to, chunk.to_share);
      }
      chunks[std::size_t(k)].push_back(std::move(chunk));
    }
  }
  // 2. each chunk's plan. Bridges: Sinkhorn on the execution space, one chunk after another;
  // straight lines: exact OT on the host, the chunks spread over its threads (whatever the
  // back end: a chunk of 512 is a few milliseconds of one core, where a device auction's
  // rounds are hundreds of small launches)
  auto straight = [&](impl::Chunk &chunk, std::int64_t nk, std::int64_t nn)
  {
    const std::size_t A = chunk.from.size(), B = chunk.to.size(), D = std::size_t(d);
    // ½|x − y|² from the rows gathered, the second side transposed (D × B): the inner loop runs
    // over contiguous columns and vectorises
    std::vector<double> a(A * D), bt(D * B), c2(A * B, 0.0);
    for (std::size_t i = 0; i < A; ++i)
      for (std::size_t r = 0; r < D; ++r)
        a[i * D + r] = double(x_host(chunk.from[i], r));
    for (std::size_t j = 0; j < B; ++j)
      for (std::size_t r = 0; r < D; ++r)
        bt[r * B + j] = double(x_host(chunk.to[j], r));
    for (std::size_t i = 0; i < A; ++i)
    {
      double *KOKKOS_RESTRICT row = &c2[i * B];
      for (std::size_t r = 0; r < D; ++r)
      {
        const double xi = a[i * D + r];
        const double *KOKKOS_RESTRICT col = &bt[r * B];
        for (std::size_t j = 0; j < B; ++j)
          row[j] += (xi - col[j]) * (xi - col[j]);
      }
      for (std::size_t j = 0; j < B; ++j)
        row[j] /= 2;
    }
    if (nk == nn) // the assignment (one share per row on both sides)
    {
      const auto picks = auction_assignment(c2, std::int64_t(A), o.epsilon);
      for (std::size_t i = 0; i < A; ++i)
      {
        chunk.pair_from.push_back(std::int64_t(i));
        chunk.pair_to.push_back(picks[i]);
        chunk.pair_units.push_back(double(nn));
      }
      return;
    }
    const TransportPlan plan = exact_transport(chunk.from_share, chunk.to_share, c2);
    for (std::size_t e = 0; e < plan.flow.size(); ++e)
    {
      chunk.pair_from.push_back(plan.source[e]);
      chunk.pair_to.push_back(plan.target[e]);
      chunk.pair_units.push_back(double(plan.flow[e]));
    }
  };
  auto bridged = [&](impl::Chunk &chunk, std::int64_t k, std::int64_t c)
  { // the side with more rows draws; the other is repaired
    const bool rows_draw = chunk.from.size() >= chunk.to.size();
    const auto &drawers = rows_draw ? chunk.from : chunk.to, &others = rows_draw ? chunk.to : chunk.from;
    const auto &drawn_share = rows_draw ? chunk.from_share : chunk.to_share;
    const auto picks = impl::sinkhorn_partners(space, gather(drawers), gather(others), bridge[std::size_t(k)], o,
                                               key(std::uint64_t(first_snapshot + k))(2 + std::uint64_t(c)));
    impl::Chunk drawn; // as seen from the drawing side: its rows are `from`
    drawn.from = drawers;
    drawn.to = others;
    drawn.from_share = drawn_share;
    drawn.to_share = rows_draw ? chunk.to_share : chunk.from_share;
    for (std::size_t i = 0; i < drawers.size(); ++i)
    {
      drawn.pair_from.push_back(std::int64_t(i));
      drawn.pair_to.push_back(picks[i]);
      drawn.pair_units.push_back(double(drawn_share[i]));
    }
    impl::repair_second_marginal(drawn, cost);
    chunk.pair_from = rows_draw ? drawn.pair_from : drawn.pair_to;
    chunk.pair_to = rows_draw ? drawn.pair_to : drawn.pair_from;
    chunk.pair_units = drawn.pair_units;
  };
  std::vector<std::pair<std::int64_t, std::int64_t>> jobs; // (interval, chunk)
  for (std::size_t k = 0; k < chunks.size(); ++k)
    for (std::size_t c = 0; c < chunks[k].size(); ++c)
      jobs.emplace_back(std::int64_t(k), std::int64_t(c));
  auto sizes = [&](std::int64_t k)
  { return std::make_pair(offsets[std::size_t(k) + 1] - offsets[std::size_t(k)], offsets[std::size_t(k) + 2] - offsets[std::size_t(k) + 1]); };
  if (!bridge.empty())
    for (const auto &[k, c] : jobs)
      bridged(chunks[std::size_t(k)][std::size_t(c)], k, c);
  else
    run_host_jobs(std::int64_t(jobs.size()), host_threads(o.threads),
                  [&](std::int64_t job)
                  {
                    const auto [k, c] = jobs[std::size_t(job)];
                    const auto [nk, nn] = sizes(k);
                    straight(chunks[std::size_t(k)][std::size_t(c)], nk, nn);
                  });
  // 3. the pairs, interval by interval
  CoupledPairs out;
  out.begin.push_back(0);
  for (std::int64_t k = 0; k + 1 < K; ++k)
  {
    const std::int64_t nk = sizes(k).first, total = totals[std::size_t(k)];
    std::vector<std::int64_t> pair_from, pair_to;
    std::vector<double> weight;
    for (const impl::Chunk &chunk : chunks[std::size_t(k)])
      for (std::size_t p = 0; p < chunk.pair_units.size(); ++p)
      {
        pair_from.push_back(chunk.from[std::size_t(chunk.pair_from[p])]);
        pair_to.push_back(chunk.to[std::size_t(chunk.pair_to[p])]);
        weight.push_back(chunk.pair_units[p] / double(total));
      }
    chunks[std::size_t(k)].clear();
    // in row order (one pair per row of k, all of weight 1/N_k: drawn by row as an index)
    std::vector<std::size_t> order(pair_from.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b)
              { return pair_from[a] != pair_from[b] ? pair_from[a] < pair_from[b] : pair_to[a] < pair_to[b]; });
    bool uniform = std::int64_t(order.size()) == nk;
    std::int64_t previous = -1;
    double square_length = 0;
    for (const std::size_t p : order)
      if (weight[p] > 0)
      {
        uniform = uniform && weight[p] == weight[order.front()] && pair_from[p] != previous;
        previous = pair_from[p];
        out.from.push_back(pair_from[p]);
        out.to.push_back(pair_to[p]);
        out.weight.push_back(weight[p]);
        square_length += weight[p] * 2 * cost(pair_from[p], pair_to[p]);
      }
      else
        uniform = false;
    out.begin.push_back(std::int64_t(out.from.size()));
    out.uniform.push_back(uniform);
    out.square_length.push_back(square_length);
  }
  return out;
}
} // namespace amk::data
