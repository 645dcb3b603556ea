#pragma once
// What the table readers share (io/import.cpp, io/anndata.cpp): rows of (time, coordinates)
// into snapshots.
#include <amk/core/error.hpp>
#include <amk/data/snapshot_data.hpp>
#include <map>
#include <string>
#include <vector>

namespace amk::io
{
/// Snapshots from (time, coordinates) rows: grouped by time, ascending, rows in the file's order.
inline data::SnapshotData group_by_time(const std::vector<double> &time, const std::vector<double> &x, std::int64_t dim,
                                 const std::string &where)
{
  std::map<double, std::vector<std::size_t>> rows;
  for (std::size_t i = 0; i < time.size(); ++i)
    rows[time[i]].push_back(i);
  require(rows.size() >= 2,
          where + ": the data need at least two times (found " + std::to_string(rows.size()) + ")");
  data::SnapshotData out;
  out.dim = dim;
  out.offsets.push_back(0);
  for (const auto &[t, list] : rows)
  {
    out.times.push_back(t);
    for (const std::size_t i : list)
      out.x.insert(out.x.end(), x.begin() + std::ptrdiff_t(i) * dim, x.begin() + std::ptrdiff_t(i + 1) * dim);
    out.offsets.push_back(out.offsets.back() + std::int64_t(list.size()));
  }
  const double first = double(out.offsets[1] - out.offsets[0]);
  for (std::size_t k = 0; k + 1 < out.offsets.size(); ++k)
    out.snapshot_mass.push_back(double(out.offsets[k + 1] - out.offsets[k]) / first);
  return out;
}
} // namespace amk::io
