#include <amk/config.hpp>
#include <amk/core/error.hpp>
#include <amk/core/json.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/io/hdf5.hpp>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <zlib.h>

namespace amk::io
{
namespace
{
constexpr const char *kFormat = "amk-checkpoint-2"; ///< 2: with the checksum attribute
constexpr const char *kFormatUnchecked = "amk-checkpoint-1";

/// CRC-32 (zlib) of a checkpoint's content in a fixed order: every array with its length,
/// every attribute's value. Computed from the values, so writing and reading agree whatever
/// HDF5's layout; a flipped bit anywhere in them changes it.
std::string content_checksum(const Checkpoint &c)
{
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto bytes = [&crc](const void *p, std::size_t n)
  {
    for (std::size_t done = 0; done < n;) // zlib takes at most 4 GiB a call
    {
      const auto chunk = uInt(std::min<std::size_t>(n - done, 1u << 30));
      crc = crc32(crc, static_cast<const Bytef *>(p) + done, chunk);
      done += chunk;
    }
  };
  const auto array = [&bytes](const std::vector<double> &v)
  {
    const std::uint64_t n = v.size();
    bytes(&n, sizeof n);
    bytes(v.data(), v.size() * sizeof(double));
  };
  const auto text = [&bytes](const std::string &t)
  {
    const std::uint64_t n = t.size();
    bytes(&n, sizeof n);
    bytes(t.data(), t.size());
  };
  for (const auto *v : {&c.params, &c.ema, &c.adam_m, &c.adam_v, &c.normalisation.shift})
    array(*v);
  text(to_text(c.config));
  text(to_text(c.objective));
  text(c.shards.is_null() ? std::string() : to_text(c.shards));
  if (!c.engine.empty()) // (absent from older checkpoints, whose checksums stay valid)
    text(c.engine);
  const std::int64_t integers[2] = {c.step, c.ranks};
  bytes(integers, sizeof integers);
  const double reals[3] = {c.normalisation.t0, c.normalisation.span, c.normalisation.scale};
  bytes(reals, sizeof reals);
  return fmt::format("crc32:{:08x}", crc);
}
} // namespace

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
  w.write_string_attr("config", to_text(c.config));
  w.write_string_attr("objective", to_text(c.objective));
  w.write_i64_attr("step", c.step);
  w.write_i64_attr("ranks", c.ranks);
  if (!c.shards.is_null())
    w.write_string_attr("shards", to_text(c.shards));
  if (!c.engine.empty())
    w.write_string_attr("engine", c.engine);
  w.write_f64_attr("t0", c.normalisation.t0);
  w.write_f64_attr("span", c.normalisation.span);
  w.write_f64_attr("scale", c.normalisation.scale);
  w.write_string_attr("checksum", content_checksum(c));
  w.commit();
}

Checkpoint read_checkpoint(const std::string &path)
{
  H5Reader r(path);
  const std::string format = r.has_attr("format") ? r.read_string_attr("format") : std::string();
  require(format == kFormat || format == kFormatUnchecked,
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
    if (r.has_attr("engine"))
      c.engine = r.read_string_attr("engine");
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
  if (format == kFormat)
  {
    require(r.has_attr("checksum"), path + ": has no checksum attribute (a corrupt checkpoint)");
    const std::string stored = r.read_string_attr("checksum"), computed = content_checksum(c);
    require(stored == computed, path + ": checksum mismatch (stored " + stored + ", content " + computed +
                                    "): the checkpoint is corrupt; use an earlier copy or start again");
  }
  else // written before checksums (amk 0.1.0 before 2026-11-24): read, but say it is unverified
    std::fprintf(stderr, "amk: warning: %s has no checksum (an older checkpoint); its content is not verified\n",
                 path.c_str());
  for (double v : c.params)
    require(std::isfinite(v), path + ": /params holds NaN or Inf");
  return c;
}
} // namespace amk::io
