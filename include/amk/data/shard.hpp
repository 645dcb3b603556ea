#pragma once
// Time-snapshot shards (DESIGN.md §4). P ranks form a grid P = P_time × P_sample, rank
// r = a·P_sample + b: time rank a owns a contiguous window of snapshots (a block of the
// K − 1 intervals; neighbouring windows share their edge snapshot, which the coupled path
// and the quadrature rules of an interval need on one rank), and sample rank b a slice of
// each of its snapshots' samples. Every rank also holds slice r of P of the first and of
// the last snapshot: the boundary terms are 2/3 of a default batch, and spreading them over
// all ranks keeps the ranks equally loaded (held only by the end windows, those two ranks
// would compute twice the others' share each step).
// A rank reads only the rows it holds (io::read_shard), in the file's precision, and keeps
// them in file order: the merged, sorted row ranges of its parts.
#include <amk/core/error.hpp>
#include <amk/data/snapshot_data.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace amk::data
{
/// Part [begin, end) of a count n split into `parts` near-equal slices.
inline std::pair<std::int64_t, std::int64_t> slice(std::int64_t n, std::int64_t part, std::int64_t parts)
{
  return {n * part / parts, n * (part + 1) / parts};
}

/// The rank grid P = time × sample.
struct RankGrid
{
  int time = 1, sample = 1;
  bool pairs = false; ///< windows hold whole pairs of intervals (Simpson's rule per window)

  int ranks() const { return time * sample; }

  /// The grid for `ranks` ranks over K snapshots: P_time = `requested`, or (0) the largest
  /// divisor of P that leaves every window an interval (a pair of them with `pairs`).
  /// Time windows first: they keep each snapshot whole on its rank, so the coupling of an
  /// interval is computed exactly as on one rank, and they stratify the times for free;
  /// sample slices take the rest. amk::Error naming the option when `requested` is not possible.
  static RankGrid choose(int ranks, std::int64_t K, int requested, bool pairs)
  {
    const std::int64_t blocks = pairs ? (K - 1) / 2 : K - 1; // what a window is made of
    RankGrid g;
    g.pairs = pairs;
    if (requested > 0)
    {
      require(ranks % requested == 0, "train: --ranks-time " + std::to_string(requested) +
                                          " does not divide the " + std::to_string(ranks) + " MPI ranks");
      require(requested <= blocks, "train: --ranks-time " + std::to_string(requested) + " exceeds the " +
                                       std::to_string(blocks) + (pairs ? " interval pairs (Simpson's rule)" : " intervals") +
                                       " between the " + std::to_string(K) + " snapshots");
      g.time = requested;
    }
    else
      for (int t = 1; t <= ranks; ++t)
        if (ranks % t == 0 && t <= blocks)
          g.time = t;
    g.sample = ranks / g.time;
    return g;
  }

  /// Snapshots [first, last] of time rank a's window.
  std::pair<std::int64_t, std::int64_t> window(int a, std::int64_t K) const
  {
    const std::int64_t unit = pairs ? 2 : 1, blocks = (K - 1) / unit;
    const auto w = slice(blocks, a, time);
    return {unit * w.first, a + 1 == time ? K - 1 : unit * w.second};
  }
};

/// Where a rank's interior times come from: its window of the snapshots (a built-in path:
/// all of [0, 1]) and which of the P_time windows it is.
struct Window
{
  int index = 0, count = 1;            ///< time rank a of P_time
  std::int64_t first = 0, last = -1;   ///< snapshots [first, last] (last < first: no snapshots)
  double lo = 0, hi = 1;               ///< normalised times of the window
};

/// Rows [row, row + rows) of /x, all of snapshot k's or a slice of them.
struct ShardPart
{
  std::int64_t snapshot = 0, row = 0, rows = 0;
};

/// What one rank holds of a snapshot file: the file's layout (times, offsets: small) and the
/// rows of its parts.
struct Shard
{
  RankGrid grid;
  int rank = 0;
  std::vector<double> times;         ///< K, the whole file's
  std::vector<std::int64_t> offsets; ///< K + 1, the whole file's
  std::int64_t dim = 0;
  std::vector<ShardPart> window;     ///< snapshots first … last of the window, slice b of P_sample
  ShardPart boundary0, boundary1;    ///< slice r of P of the first and of the last snapshot
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges; ///< the rows held: sorted, disjoint [begin, end)
  std::vector<float> x32;            ///< the rows held, in range order (float32 files)
  std::vector<double> x64;           ///< the same for float64 files (one of the two is filled)
  std::vector<double> mass;          ///< the rows' /mass, or empty
  std::vector<double> snapshot_mass; ///< K, or empty
  std::vector<double> reference;     ///< d: row 0 of /x, which the partial sums are taken around
  bool float32_file = false;         ///< /x is float32 in the file (x32 holds the rows)

  std::int64_t snapshots() const { return std::int64_t(times.size()); }
  std::int64_t held_rows() const
  {
    std::int64_t n = 0;
    for (const auto &r : ranges)
      n += r.second - r.first;
    return n;
  }
  /// Coordinate j of held row i (an index into the rows held).
  double x(std::int64_t i, std::int64_t j) const
  {
    return float32_file ? double(x32[std::size_t(i * dim + j)]) : x64[std::size_t(i * dim + j)];
  }
  /// Frees the rows' values (once they are on the device), keeping the layout.
  void release_values()
  {
    std::vector<float>().swap(x32);
    std::vector<double>().swap(x64);
    std::vector<double>().swap(mass);
  }
  /// Index among the rows held of the file's row `row` (which must be held).
  std::int64_t local(std::int64_t row) const
  {
    std::int64_t before = 0;
    for (const auto &r : ranges)
    {
      if (row >= r.first && row < r.second)
        return before + row - r.first;
      before += r.second - r.first;
    }
    throw Error("shard: row " + std::to_string(row) + " is not held by rank " + std::to_string(rank));
  }
  /// Whether this rank counts window part j in the statistics: each snapshot is counted by
  /// the window that starts at it (the last window also by its last one), each row once.
  bool owns(std::size_t j) const { return j + 1 < window.size() || window[j].snapshot == snapshots() - 1; }
  bool has_mass() const { return !mass.empty() || !snapshot_mass.empty(); }
};

/// Calls f(i, row, k) for every row held in `ranges` (sorted, disjoint [begin, end) of the
/// file's rows): i its index among the rows held, k its snapshot by `offsets`.
template <class F>
void for_each_row(const std::vector<std::int64_t> &offsets,
                  const std::vector<std::pair<std::int64_t, std::int64_t>> &ranges, F f)
{
  std::int64_t i = 0, k = 0;
  for (const auto &[begin, end] : ranges)
    for (std::int64_t row = begin; row < end; ++row, ++i)
    {
      while (offsets[std::size_t(k + 1)] <= row)
        ++k;
      f(i, row, k);
    }
}

/// The parts and row ranges of `rank` for a file of these times and offsets (no data yet).
/// amk::Error when a snapshot has fewer samples than the ranks that share it.
inline Shard plan_shard(const std::vector<double> &times, const std::vector<std::int64_t> &offsets, std::int64_t dim,
                        const RankGrid &grid, int rank, const std::string &where)
{
  Shard s;
  s.grid = grid;
  s.rank = rank;
  s.times = times;
  s.offsets = offsets;
  s.dim = dim;
  const std::int64_t K = std::int64_t(times.size());
  const int a = rank / grid.sample, b = rank % grid.sample, P = grid.ranks();
  auto part = [&](std::int64_t k, std::int64_t p, std::int64_t parts)
  {
    const std::int64_t n = offsets[std::size_t(k + 1)] - offsets[std::size_t(k)];
    require(n >= parts, where + ": snapshot " + std::to_string(k) + " has " + std::to_string(n) +
                            " samples, fewer than the " + std::to_string(parts) +
                            " ranks that share it; use fewer MPI ranks (or more time ranks: --ranks-time)");
    const auto sl = slice(n, p, parts);
    return ShardPart{k, offsets[std::size_t(k)] + sl.first, sl.second - sl.first};
  };
  const auto [first, last] = grid.window(a, K);
  for (std::int64_t k = first; k <= last; ++k)
    s.window.push_back(part(k, b, grid.sample));
  s.boundary0 = part(0, rank, P);
  s.boundary1 = part(K - 1, rank, P);
  std::vector<std::pair<std::int64_t, std::int64_t>> r;
  for (const auto &p : s.window)
    r.emplace_back(p.row, p.row + p.rows);
  r.emplace_back(s.boundary0.row, s.boundary0.row + s.boundary0.rows);
  r.emplace_back(s.boundary1.row, s.boundary1.row + s.boundary1.rows);
  std::sort(r.begin(), r.end());
  for (const auto &q : r)
    if (!s.ranges.empty() && q.first <= s.ranges.back().second)
      s.ranges.back().second = std::max(s.ranges.back().second, q.second);
    else
      s.ranges.push_back(q);
  return s;
}

/// This rank's shard of a data set in memory (what io::read_shard reads from a file).
inline Shard shard_of(const SnapshotData &data, const RankGrid &grid, int rank)
{
  Shard s = plan_shard(data.times, data.offsets, data.dim, grid, rank, "data");
  const std::int64_t d = data.dim;
  for (const auto &[begin, end] : s.ranges)
  {
    s.x64.insert(s.x64.end(), data.x.begin() + begin * d, data.x.begin() + end * d);
    if (!data.mass.empty())
      s.mass.insert(s.mass.end(), data.mass.begin() + begin, data.mass.begin() + end);
  }
  s.snapshot_mass = data.snapshot_mass;
  s.reference.assign(data.x.begin(), data.x.begin() + d);
  return s;
}

/// This rank's partial sums over the rows it owns (Shard::owns), for one sum over ranks:
/// Σ(x − x_ref) and Σ(x − x_ref)² per coordinate (the reference keeps the sums of data far
/// from the origin exact), then the mass of each snapshot (K).
inline std::vector<double> partial_sums(const Shard &s)
{
  const std::int64_t d = s.dim, K = s.snapshots();
  std::vector<double> sums(std::size_t(2 * d + K), 0.0);
  for (std::size_t j = 0; j < s.window.size(); ++j)
  {
    if (!s.owns(j))
      continue;
    const ShardPart &p = s.window[j];
    const std::int64_t i0 = s.local(p.row);
    for (std::int64_t i = i0; i < i0 + p.rows; ++i)
    {
      for (std::int64_t r = 0; r < d; ++r)
      {
        const double e = s.x(i, r) - s.reference[std::size_t(r)];
        sums[std::size_t(r)] += e;
        sums[std::size_t(d + r)] += e * e;
      }
      sums[std::size_t(2 * d + p.snapshot)] += s.mass.empty() ? 1.0 : s.mass[std::size_t(i)];
    }
  }
  return sums;
}

/// What the summed partial sums give: the normalisation's shift and scale (normalisation.hpp)
/// and each snapshot's total mass (/snapshot_mass when the file has it).
struct Statistics
{
  std::vector<double> shift;
  double scale = 1;
  std::vector<double> total_mass;
};

inline Statistics statistics(const Shard &s, const std::vector<double> &sums)
{
  const std::int64_t d = s.dim, K = s.snapshots(), N = s.offsets.back();
  Statistics st;
  double var = 0;
  for (std::int64_t r = 0; r < d; ++r)
  {
    const double mean = sums[std::size_t(r)] / double(N);
    st.shift.push_back(s.reference[std::size_t(r)] + mean);
    var += std::max(0.0, sums[std::size_t(d + r)] / double(N) - mean * mean);
  }
  st.scale = var > 0 ? std::sqrt(var / double(d)) : 1.0; // one isotropic scale: the RMS standard deviation
  for (std::int64_t k = 0; k < K; ++k)
  {
    const double m = s.snapshot_mass.empty() ? sums[std::size_t(2 * d + k)] : s.snapshot_mass[std::size_t(k)];
    require(m > 0, "data: /mass sums to 0 over snapshot " + std::to_string(k) +
                       "; each snapshot needs positive total mass");
    st.total_mass.push_back(m);
  }
  return st;
}
} // namespace amk::data
