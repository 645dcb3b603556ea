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

namespace
{
/// /times: at least two finite, strictly increasing instants; /offsets: K+1 entries from 0
/// to N, strictly increasing (no empty snapshot).
void validate_layout(const std::vector<double> &times, const std::vector<std::int64_t> &off, std::int64_t N,
                     const std::string &w)
{
  const std::int64_t K = std::int64_t(times.size());
  if (K < 2)
    throw Error(w + ": /times holds " + num(K) + " snapshot(s); at least 2 are needed");
  for (std::int64_t k = 0; k < K; ++k)
    if (!std::isfinite(times[k]))
      throw Error(w + ": /times[" + num(k) + "] = " + num(times[k]) + " is not finite");
  for (std::int64_t k = 1; k < K; ++k)
    if (!(times[k] > times[k - 1]))
      throw Error(w + ": /times must be strictly increasing (times[" + num(k) + "] = " + num(times[k]) +
                  " <= times[" + num(k - 1) + "] = " + num(times[k - 1]) + ")");
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
}

/// /snapshot_mass (optional): one finite, positive total per snapshot, and not with /mass.
void validate_snapshot_mass(const std::vector<double> &snapshot_mass, bool has_mass, std::int64_t K,
                            const std::string &w)
{
  if (snapshot_mass.empty())
    return;
  if (has_mass)
    throw Error(w + ": has both /mass and /snapshot_mass; give one (per-sample masses, or a total per snapshot)");
  if (std::int64_t(snapshot_mass.size()) != K)
    throw Error(w + ": /snapshot_mass has length " + num(std::int64_t(snapshot_mass.size())) + ", expected K = " +
                num(K) + " (one total mass per snapshot)");
  for (std::int64_t k = 0; k < K; ++k)
  {
    const double m = snapshot_mass[std::size_t(k)];
    if (!std::isfinite(m))
      throw Error(w + ": /snapshot_mass[" + num(k) + "] = " + num(m) + " is not finite");
    if (!(m > 0))
      throw Error(w + ": /snapshot_mass[" + num(k) + "] = " + num(m) + " must be positive");
  }
}

/// Values of the rows held (file rows `ranges`, in order; x(i, r) and mass[i] by index among
/// them): finite x, finite non-negative masses, reported by file row and snapshot.
template <class X>
void validate_rows(const std::vector<std::int64_t> &off, std::int64_t d,
                   const std::vector<std::pair<std::int64_t, std::int64_t>> &ranges, X x,
                   const std::vector<double> &mass, const std::string &w)
{
  data::for_each_row(off, ranges,
                     [&](std::int64_t i, std::int64_t row, std::int64_t k)
                     {
                       for (std::int64_t r = 0; r < d; ++r)
                       {
                         const double v = x(i, r);
                         if (!std::isfinite(v))
                           throw Error(w + ": /x[" + num(row) + ", " + num(r) + "] = " + num(v) +
                                       " is not finite (snapshot " + num(k) + ", row " +
                                       num(row - off[std::size_t(k)]) + " of that snapshot)");
                       }
                       if (mass.empty())
                         return;
                       const double m = mass[std::size_t(i)];
                       if (!std::isfinite(m))
                         throw Error(w + ": /mass[" + num(row) + "] = " + num(m) + " is not finite");
                       if (m < 0)
                         throw Error(w + ": /mass[" + num(row) + "] = " + num(m) + " is negative");
                     });
}
} // namespace

void validate(const SnapshotData &data, const std::string &where)
{
  const std::string &w = where;
  const std::int64_t K = data.snapshots(), d = data.dim;
  if (K < 2)
    throw Error(w + ": /times holds " + num(K) + " snapshot(s); at least 2 are needed");
  // /x: N rows of d >= 1 columns.
  if (d < 1)
    throw Error(w + ": /x has " + num(d) + " columns; the dimension d must be at least 1");
  if (std::int64_t(data.x.size()) % d != 0)
    throw Error(w + ": /x holds " + num(std::int64_t(data.x.size())) + " values, not a multiple of d = " + num(d));
  const std::int64_t N = std::int64_t(data.x.size()) / d;
  validate_layout(data.times, data.offsets, N, w);
  if (!data.mass.empty() && std::int64_t(data.mass.size()) != N)
    throw Error(w + ": /mass has length " + num(std::int64_t(data.mass.size())) + ", expected N = " + num(N) +
                " (one weight per row of /x)");
  validate_rows(data.offsets, d, {{0, N}}, [&](std::int64_t i, std::int64_t r) { return data.x[std::size_t(i * d + r)]; },
                data.mass, w);
  validate_snapshot_mass(data.snapshot_mass, !data.mass.empty(), K, w);
  // each snapshot must carry some mass, or weighted averages over it are undefined
  const auto &off = data.offsets;
  for (std::int64_t k = 0; k < K && !data.mass.empty(); ++k)
  {
    double total = 0;
    for (std::int64_t i = off[k]; i < off[k + 1]; ++i)
      total += data.mass[std::size_t(i)];
    if (!(total > 0))
      throw Error(w + ": /mass sums to 0 over snapshot " + num(k) + " (rows " + num(off[k]) + ".." +
                  num(off[k + 1] - 1) + "); each snapshot needs positive total mass");
  }
}

namespace
{
/// What every reader of a snapshot file needs first: its structure (names, ranks, types,
/// lengths: the messages name the dataset before any large read) and its small datasets.
struct Layout
{
  std::int64_t K = 0, N = 0, d = 0;
  bool has_mass = false;
  std::vector<double> times, snapshot_mass;
  std::vector<std::int64_t> offsets;
};

Layout read_layout(const H5Reader &r)
{
  const std::string &path = r.path();
  Layout l;
  const auto ts = check_dataset(r, "/times", 1, true, "float64[K], the snapshot times");
  l.K = ts[0];
  if (l.K < 2)
    throw Error(path + ": /times holds " + num(l.K) + " snapshot(s); at least 2 are needed");
  const auto xs = check_dataset(r, "/x", 2, true, "float32 or float64 [N, d], the samples grouped by snapshot");
  l.N = xs[0];
  l.d = xs[1];
  if (l.d == 0)
    throw Error(path + ": /x has zero columns (shape " + shape_string(xs) + "); the dimension d must be at least 1");
  const auto os = check_dataset(r, "/offsets", 1, false, "int64[K+1], where each snapshot's rows of /x start");
  if (os[0] != l.K + 1)
    throw Error(path + ": /offsets has length " + num(os[0]) + ", expected K+1 = " + num(l.K + 1) + " (K = " +
                num(l.K) + " snapshots in /times)");
  l.has_mass = r.has("/mass");
  if (l.has_mass)
  {
    const auto ms = r.shape("/mass");
    if (ms.size() != 1 || ms[0] != l.N)
      throw Error(path + ": /mass must have shape [N] = [" + num(l.N) + "] (one weight per row of /x), got " +
                  shape_string(ms));
  }
  if (r.has("/snapshot_mass"))
  {
    const auto ms = r.shape("/snapshot_mass");
    if (ms.size() != 1 || ms[0] != l.K)
      throw Error(path + ": /snapshot_mass must have shape [K] = [" + num(l.K) + "] (one total per snapshot), got " +
                  shape_string(ms));
    l.snapshot_mass = r.read_f64("/snapshot_mass");
  }
  l.times = r.read_f64("/times");
  l.offsets = r.read_i64("/offsets");
  validate_layout(l.times, l.offsets, l.N, path);
  validate_snapshot_mass(l.snapshot_mass, l.has_mass, l.K, path);
  return l;
}
} // namespace

SnapshotData read_snapshots(const std::string &path)
{
  const H5Reader r(path);
  const Layout l = read_layout(r);
  SnapshotData data;
  data.times = l.times;
  data.snapshot_mass = l.snapshot_mass;
  data.dim = l.d;
  data.offsets = l.offsets;
  data.x = r.read_f64("/x");
  if (l.has_mass)
    data.mass = r.read_f64("/mass");
  validate(data, path);
  return data;
}

void check_readable(const std::string &path) { H5Reader r(path); }

data::Shard read_shard(const std::string &path, const ShardRequest &request)
{
  data::Shard shard;
  {
    const H5Reader r(path, request.collective); // collective: every rank opens and closes it together
    const Layout l = read_layout(r);            // the same on every rank: so are its errors
    const auto grid = data::RankGrid::choose(request.ranks, l.K, request.ranks_time, request.pairs);
    shard = data::plan_shard(l.times, l.offsets, l.d, grid, request.rank, path);
    shard.snapshot_mass = l.snapshot_mass;
    shard.float32_file = r.is_float32("/x");
    try
    {
      if (shard.float32_file) // the file's precision: float32 stays float32
        shard.x32 = r.read_rows_f32("/x", shard.ranges);
      else
        shard.x64 = r.read_rows_f64("/x", shard.ranges);
      if (l.has_mass)
        shard.mass = r.read_rows_f64("/mass", shard.ranges);
    }
    catch (const OutOfMemory &) // the reader's message has the size; the remedy is known here
    {
      const double mib = double(shard.held_rows()) * double(l.d * (shard.float32_file ? 4 : 8) + (l.has_mass ? 8 : 0)) /
                         double(1 << 20);
      throw Error(path + ": this rank's " + std::to_string(shard.held_rows()) + " rows (" +
                  std::to_string(std::int64_t(mib + 0.5)) +
                  " MiB) do not fit in its memory; run on more MPI ranks (each reads about 1/P of the file)");
    }
    shard.reference = r.read_rows_f64("/x", {{0, 1}});
  }
  // this rank's values, after the collective close: an error here is this rank's alone
  validate_rows(shard.offsets, shard.dim, shard.ranges, [&](std::int64_t i, std::int64_t j) { return shard.x(i, j); },
                shard.mass, path);
  return shard;
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
