#pragma once
// Snapshots in memory, laid out as in the data file (io/snapshot_file.hpp reads and writes
// them): K times, the samples of each grouped by snapshot, optional masses.
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

} // namespace amk::data
