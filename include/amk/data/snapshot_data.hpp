#pragma once
// Snapshots in memory, laid out as in the data file (io/snapshot_file.hpp reads and writes
// them): K times, the samples of each grouped by snapshot, optional masses.
#include <amk/core/random.hpp>
#include <cstdint>
#include <vector>

namespace amk::data
{
/// One data set of K snapshots held in memory, laid out as in the file.
struct SnapshotData
{
  std::vector<double> times;         ///< K, strictly increasing, finite
  std::int64_t dim = 0;              ///< d
  std::vector<std::int64_t> offsets; ///< K+1, offsets[0] = 0, strictly increasing, offsets[K] = N
  std::vector<double> x;             ///< N*d, row-major (sample-major)
  std::vector<double> mass;          ///< N, or empty when the file has no /mass
  std::vector<double> snapshot_mass; ///< K total masses, or empty when the file has no /snapshot_mass

  /// Whether the data carry masses (for unbalanced AM).
  bool has_mass() const { return !mass.empty() || !snapshot_mass.empty(); }
  /// The total mass of snapshot k (its sample count when the data carry none).
  double total_mass(std::int64_t k) const
  {
    if (!snapshot_mass.empty())
      return snapshot_mass[k];
    if (mass.empty())
      return double(offsets[k + 1] - offsets[k]);
    double m = 0;
    for (std::int64_t i = offsets[k]; i < offsets[k + 1]; ++i)
      m += mass[i];
    return m;
  }

  /// Number of snapshots K.
  std::int64_t snapshots() const { return std::int64_t(times.size()); }
  /// Total number of samples N over all snapshots.
  std::int64_t samples() const { return offsets.empty() ? 0 : offsets.back(); }
};


/// Snapshots at `times` of n independent normal draws each, x_r = mean(k, r) + stddev(k, r)·z
/// with z the counter-based normal of (key, sample k·n + i, coordinate r): the built-in
/// paths' data, the same on any machine.
template <class Mean, class Std>
SnapshotData normal_snapshots(int dim, const std::vector<double> &times, std::int64_t n, RandomKey key, Mean mean,
                              Std stddev)
{
  SnapshotData out;
  out.dim = dim;
  out.times = times;
  const std::int64_t K = std::int64_t(times.size());
  for (std::int64_t k = 0; k < K; ++k)
  {
    out.offsets.push_back(k * n);
    for (std::int64_t i = 0; i < n; ++i)
    {
      const RandomKey sample = key(std::uint64_t(k) * std::uint64_t(n) + std::uint64_t(i));
      for (int r = 0; r < dim; ++r)
        out.x.push_back(mean(k, r) + stddev(k, r) * sample.normal(std::uint64_t(r)));
    }
  }
  out.offsets.push_back(K * n);
  return out;
}

/// K equally spaced times from t0 to t1.
inline std::vector<double> equally_spaced(int K, double t0, double t1)
{
  std::vector<double> t;
  for (int k = 0; k < K; ++k)
    t.push_back(t0 + (t1 - t0) * double(k) / double(K - 1));
  return t;
}
} // namespace amk::data
