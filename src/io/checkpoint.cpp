#include <amk/config.hpp>
#include <amk/core/error.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/io/hdf5.hpp>
#include <amk/train/config.hpp>
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
  w.write_i64_attr("step", c.step);
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
    const auto shape = train::shape_from_json(c.config.at("network"));
    c.step = std::int64_t(r.read_f64_attr("step"));
    c.normalisation.t0 = r.read_f64_attr("t0");
    c.normalisation.span = r.read_f64_attr("span");
    c.normalisation.scale = r.read_f64_attr("scale");
    c.normalisation.shift = r.read_f64("/shift");
    c.params = r.read_f64("/params");
    c.ema = r.read_f64("/ema");
    c.adam_m = r.read_f64("/adam_m");
    c.adam_v = r.read_f64("/adam_v");
    const std::size_t P = std::size_t(shape.param_count());
    require(c.params.size() == P && c.ema.size() == P && c.adam_m.size() == P && c.adam_v.size() == P,
            path + ": parameter arrays do not match the network in its config");
    require(c.normalisation.shift.size() == std::size_t(shape.dim), path + ": /shift does not match the dimension");
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
