// The points file of amk field and amk eval --points.
#include "commands.hpp"
#include <amk/core/error.hpp>
#include <amk/io/hdf5.hpp>
#include <cmath>
#include <fmt/format.h>

namespace amk::app
{
Points read_points(const std::string &path, std::int64_t d)
{
  io::H5Reader in(path);
  require(in.has("/x"), path + ": missing dataset /x [n, d]");
  require(in.has("/t"), path + ": missing dataset /t [n]");
  const auto xs = in.shape("/x"), ts = in.shape("/t");
  require(xs.size() == 2 && xs[1] == d, fmt::format("{}: /x must have shape [n, {}] (d of the checkpoint and data)", path, d));
  require(ts.size() == 1 && ts[0] == xs[0], path + ": /t must have shape [n] with n = rows of /x");
  require(xs[0] >= 1, path + ": /x has no points");
  Points p{in.read_f64("/x"), in.read_f64("/t"), xs[0]};
  for (double v : p.x)
    require(std::isfinite(v), path + ": /x holds NaN or Inf");
  for (double v : p.t)
    require(std::isfinite(v), path + ": /t holds NaN or Inf");
  return p;
}
} // namespace amk::app
