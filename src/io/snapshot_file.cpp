#include <amk/core/error.hpp>
#include <amk/io/hdf5.hpp>
#include <amk/io/snapshot_file.hpp>

#include <charconv>
#include <cmath>

namespace amk::io
{
namespace
{
/// Shortest text that reads back as v ("0.1", "nan", "inf").
std::string num(double v)
{
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string num(std::int64_t v) { return std::to_string(v); }

std::string shape_string(const std::vector<std::int64_t> &shape)
{
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Shape and type checks of one dataset, before anything is read.
std::vector<std::int64_t> check_dataset(const H5Reader &r, const std::string &name, std::size_t rank, bool want_float,
                                        const std::string &layout)
{
  const std::string &p = r.path();
  if (!r.has(name))
    throw Error(p + ": missing dataset " + name + " (" + layout + ")");
  const auto shape = r.shape(name);
  if (shape.size() != rank)
    throw Error(p + ": " + name + " must be rank " + std::to_string(rank) + " (" + layout + "), got shape " +
                shape_string(shape));
  if (want_float && !r.is_float(name))
    throw Error(p + ": " + name + " must be floating point (" + layout + ")");
  if (!want_float && !r.is_integer(name))
    throw Error(p + ": " + name + " must be integer (" + layout + ")");
  return shape;
}
} // namespace

void validate(const SnapshotData &data, const std::string &where)
{
  const std::string &w = where;
  // /times: at least two finite, strictly increasing instants.
  const std::int64_t K = data.snapshots();
  if (K < 2)
    throw Error(w + ": /times holds " + num(K) + " snapshot(s); at least 2 are needed");
  for (std::int64_t k = 0; k < K; ++k)
    if (!std::isfinite(data.times[k]))
      throw Error(w + ": /times[" + num(k) + "] = " + num(data.times[k]) + " is not finite");
  for (std::int64_t k = 1; k < K; ++k)
    if (!(data.times[k] > data.times[k - 1]))
      throw Error(w + ": /times must be strictly increasing (times[" + num(k) + "] = " + num(data.times[k]) +
                  " <= times[" + num(k - 1) + "] = " + num(data.times[k - 1]) + ")");

  // /x: N rows of d >= 1 columns.
  const std::int64_t d = data.dim;
  if (d < 1)
    throw Error(w + ": /x has " + num(d) + " columns; the dimension d must be at least 1");
  if (std::int64_t(data.x.size()) % d != 0)
    throw Error(w + ": /x holds " + num(std::int64_t(data.x.size())) + " values, not a multiple of d = " + num(d));
  const std::int64_t N = std::int64_t(data.x.size()) / d;

  // /offsets: K+1 entries from 0 to N, strictly increasing (no empty snapshot).
  const auto &off = data.offsets;
  if (std::int64_t(off.size()) != K + 1)
    throw Error(w + ": /offsets has length " + num(std::int64_t(off.size())) + ", expected K+1 = " + num(K + 1) +
                " (K = " + num(K) + " snapshots in /times)");
  if (off[0] != 0)
    throw Error(w + ": /offsets[0] = " + num(off[0]) + ", must be 0");
  for (std::int64_t k = 1; k <= K; ++k)
    if (off[k] <= off[k - 1])
      throw Error(w + ": /offsets must be strictly increasing (offsets[" + num(k) + "] = " + num(off[k]) +
                  " <= offsets[" + num(k - 1) + "] = " + num(off[k - 1]) + ": snapshot " + num(k - 1) +
                  (off[k] == off[k - 1] ? " is empty)" : " has negative size)"));
  if (off[K] != N)
    throw Error(w + ": /offsets[" + num(K) + "] = " + num(off[K]) + " does not match the " + num(N) + " rows of /x");

  // Values of /x: finite, reported by snapshot and row.
  for (std::int64_t k = 0; k < K; ++k)
    for (std::int64_t i = off[k]; i < off[k + 1]; ++i)
      for (std::int64_t r = 0; r < d; ++r)
      {
        const double v = data.x[std::size_t(i * d + r)];
        if (!std::isfinite(v))
          throw Error(w + ": /x[" + num(i) + ", " + num(r) + "] = " + num(v) + " is not finite (snapshot " + num(k) +
                      ", row " + num(i - off[k]) + " of that snapshot)");
      }

  // /snapshot_mass (optional): one finite, positive total per snapshot.
  if (!data.snapshot_mass.empty())
  {
    if (!data.mass.empty())
      throw Error(w + ": has both /mass and /snapshot_mass; give one (per-sample masses, or a total per snapshot)");
    if (std::int64_t(data.snapshot_mass.size()) != K)
      throw Error(w + ": /snapshot_mass has length " + num(std::int64_t(data.snapshot_mass.size())) +
                  ", expected K = " + num(K) + " (one total mass per snapshot)");
    for (std::int64_t k = 0; k < K; ++k)
    {
      const double m = data.snapshot_mass[std::size_t(k)];
      if (!std::isfinite(m))
        throw Error(w + ": /snapshot_mass[" + num(k) + "] = " + num(m) + " is not finite");
      if (!(m > 0))
        throw Error(w + ": /snapshot_mass[" + num(k) + "] = " + num(m) + " must be positive");
    }
  }

  // /mass (optional): one finite, non-negative weight per row; each snapshot must carry
  // some mass, or weighted averages over it are undefined.
  if (data.mass.empty())
    return;
  if (std::int64_t(data.mass.size()) != N)
    throw Error(w + ": /mass has length " + num(std::int64_t(data.mass.size())) + ", expected N = " + num(N) +
                " (one weight per row of /x)");
  for (std::int64_t i = 0; i < N; ++i)
  {
    const double m = data.mass[std::size_t(i)];
    if (!std::isfinite(m))
      throw Error(w + ": /mass[" + num(i) + "] = " + num(m) + " is not finite");
    if (m < 0)
      throw Error(w + ": /mass[" + num(i) + "] = " + num(m) + " is negative");
  }
  for (std::int64_t k = 0; k < K; ++k)
  {
    double total = 0;
    for (std::int64_t i = off[k]; i < off[k + 1]; ++i)
      total += data.mass[std::size_t(i)];
    if (!(total > 0))
      throw Error(w + ": /mass sums to 0 over snapshot " + num(k) + " (rows " + num(off[k]) + ".." +
                  num(off[k + 1] - 1) + "); each snapshot needs positive total mass");
  }
}

SnapshotData read_snapshots(const std::string &path)
{
  const H5Reader r(path);
  // Structure first (names, ranks, types, lengths), so that the messages name the dataset
  // before any large read.
  const auto ts = check_dataset(r, "/times", 1, true, "float64[K], the snapshot times");
  const std::int64_t K = ts[0];
  if (K < 2)
    throw Error(path + ": /times holds " + num(K) + " snapshot(s); at least 2 are needed");
  const auto xs = check_dataset(r, "/x", 2, true, "float32 or float64 [N, d], the samples grouped by snapshot");
  const std::int64_t N = xs[0], d = xs[1];
  if (d == 0)
    throw Error(path + ": /x has zero columns (shape " + shape_string(xs) + "); the dimension d must be at least 1");
  const auto os = check_dataset(r, "/offsets", 1, false, "int64[K+1], where each snapshot's rows of /x start");
  if (os[0] != K + 1)
    throw Error(path + ": /offsets has length " + num(os[0]) + ", expected K+1 = " + num(K + 1) + " (K = " + num(K) +
                " snapshots in /times)");
  const bool has_mass = r.has("/mass");
  if (has_mass)
  {
    const auto ms = r.shape("/mass");
    if (ms.size() != 1 || ms[0] != N)
      throw Error(path + ": /mass must have shape [N] = [" + num(N) + "] (one weight per row of /x), got " +
                  shape_string(ms));
  }

  const bool has_snapshot_mass = r.has("/snapshot_mass");
  if (has_snapshot_mass)
  {
    const auto ms = r.shape("/snapshot_mass");
    if (ms.size() != 1 || ms[0] != K)
      throw Error(path + ": /snapshot_mass must have shape [K] = [" + num(K) + "] (one total per snapshot), got " +
                  shape_string(ms));
  }

  SnapshotData data;
  data.times = r.read_f64("/times");
  if (has_snapshot_mass)
    data.snapshot_mass = r.read_f64("/snapshot_mass");
  data.dim = d;
  data.offsets = r.read_i64("/offsets");
  data.x = r.read_f64("/x");
  if (has_mass)
    data.mass = r.read_f64("/mass");
  validate(data, path);
  return data;
}

void write_snapshots(const std::string &path, const SnapshotData &data, bool x_as_float32,
                     const std::vector<std::pair<std::string, std::string>> &string_attrs)
{
  validate(data, path);
  const std::int64_t K = data.snapshots(), N = data.samples(), d = data.dim;
  if (x_as_float32)
    for (std::size_t j = 0; j < data.x.size(); ++j)
      if (!std::isfinite(float(data.x[j])))
        throw Error(path + ": /x[" + num(std::int64_t(j) / d) + ", " + num(std::int64_t(j) % d) +
                    "] = " + num(data.x[j]) + " overflows float32; store /x as float64");
  H5Writer w(path);
  w.write_f64("/times", data.times.data(), {K});
  if (x_as_float32)
    w.write_f32("/x", data.x.data(), {N, d});
  else
    w.write_f64("/x", data.x.data(), {N, d});
  w.write_i64("/offsets", data.offsets.data(), {K + 1});
  if (!data.mass.empty())
    w.write_f64("/mass", data.mass.data(), {N});
  if (!data.snapshot_mass.empty())
    w.write_f64("/snapshot_mass", data.snapshot_mass.data(), {K});
  for (const auto &[name, value] : string_attrs)
    w.write_string_attr(name, value);
  w.commit();
}
} // namespace amk::io
