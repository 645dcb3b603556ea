#include <amk/core/error.hpp>
#include <amk/train/checkpoint.hpp>
#include <amk/train/options.hpp>
#include <cmath>
#include <fmt/format.h>

namespace amk::train
{
RunSpec spec_of(const io::Checkpoint &checkpoint) { return spec_from_json(checkpoint.config); }

io::Checkpoint load_checkpoint(const std::string &path)
{
  const io::Checkpoint c = io::read_checkpoint(path);
  try
  {
    const RunSpec spec = spec_of(c);
    const nn::MlpShape &shape = spec.network;
    require(std::int64_t(c.params.size()) == shape.param_count(),
            fmt::format("{}: /params holds {} values but the network in its config has {} parameters", path,
                        c.params.size(), shape.param_count()));
    require(c.normalisation.shift.size() == std::size_t(shape.dim),
            fmt::format("{}: /shift has {} values for a network of dimension {}", path, c.normalisation.shift.size(),
                        shape.dim));
    am::objective_from_json(c.objective);
  }
  catch (const nlohmann::json::exception &e)
  {
    throw Error(path + ": malformed objective attribute (" + e.what() + ")");
  }
  catch (const Error &e)
  {
    const std::string what = e.what();
    throw Error(what.rfind(path, 0) == 0 ? what : path + ": " + what);
  }
  const auto &n = c.normalisation;
  bool finite = std::isfinite(n.t0) && std::isfinite(n.span) && std::isfinite(n.scale);
  for (double v : n.shift)
    finite = finite && std::isfinite(v);
  require(finite && n.span > 0 && n.scale > 0,
          path + ": its normalisation (t0, span, scale, /shift) is not finite with span and scale > 0");
  require(c.step >= 0, path + ": the step attribute is negative");
  return c;
}
} // namespace amk::train
