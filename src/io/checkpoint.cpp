#include <amk/config.hpp>
#include <amk/core/error.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/io/hdf5.hpp>
#include <cmath>

namespace amk::io
{
namespace
{
constexpr const char *kFormat = "amk-checkpoint-1";
}

void write_checkpoint(const std::string &path, const Checkpoint &c)
{
  H5Writer w(path);
  const std::int64_t P = std::int64_t(c.params.size());
  w.write_f64("/params", c.params.data(), {P});
  w.write_f64("/ema", c.ema.data(), {P});
  w.write_f64("/adam_m", c.adam_m.data(), {P});
  w.write_f64("/adam_v", c.adam_v.data(), {P});
  w.write_f64("/shift", c.normalisation.shift.data(), {std::int64_t(c.normalisation.shift.size())});
  w.write_string_attr("format", kFormat);
  w.write_string_attr("amk_version", AMK_VERSION_STRING);
  w.write_string_attr("config", c.config.dump());
  w.write_string_attr("objective", c.objective.dump());
  w.write_i64_attr("step", c.step);
  w.write_i64_attr("ranks", c.ranks);
  if (!c.shards.is_null())
    w.write_string_attr("shards", c.shards.dump());
  w.write_f64_attr("t0", c.normalisation.t0);
  w.write_f64_attr("span", c.normalisation.span);
  w.write_f64_attr("scale", c.normalisation.scale);
  w.commit();
}

Checkpoint read_checkpoint(const std::string &path)
{
  H5Reader r(path);
  require(r.has_attr("format") && r.read_string_attr("format") == kFormat,
          path + ": not an amk checkpoint (no format = " + kFormat + " attribute)");
  Checkpoint c;
  try
  {
    c.config = nlohmann::json::parse(r.read_string_attr("config"));
    require(c.config.is_object() && c.config.contains("network"), path + ": the config attribute has no network");
    if (r.has_attr("objective"))
      c.objective = nlohmann::json::parse(r.read_string_attr("objective"));
    c.step = std::int64_t(r.read_f64_attr("step"));
    if (r.has_attr("ranks"))
      c.ranks = std::int64_t(r.read_f64_attr("ranks"));
    require(c.ranks >= 1, path + ": the ranks attribute must be at least 1");
    if (r.has_attr("shards"))
      c.shards = nlohmann::json::parse(r.read_string_attr("shards"));
    c.normalisation.t0 = r.read_f64_attr("t0");
    c.normalisation.span = r.read_f64_attr("span");
    c.normalisation.scale = r.read_f64_attr("scale");
    c.normalisation.shift = r.read_f64("/shift");
    c.params = r.read_f64("/params");
    c.ema = r.read_f64("/ema");
    c.adam_m = r.read_f64("/adam_m");
    c.adam_v = r.read_f64("/adam_v");
    const std::size_t P = c.params.size(); // the network's own count is checked where it is built
    require(P > 0 && c.ema.size() == P && c.adam_m.size() == P && c.adam_v.size() == P,
            path + ": /params, /ema, /adam_m and /adam_v differ in length");
  }
  catch (const nlohmann::json::exception &e)
  {
    throw Error(path + ": malformed config attribute (" + e.what() + ")");
  }
  for (double v : c.params)
    require(std::isfinite(v), path + ": /params holds NaN or Inf");
  return c;
}
} // namespace amk::io
