#include <amk/am/batch.hpp>
#include <amk/core/error.hpp>
#include <amk/core/json.hpp>
#include <amk/train/config.hpp>
#include <cmath>
#include <fmt/format.h>
#include <utility>
#include <vector>

namespace amk::train
{
void TrainConfig::validate() const
{
  require(data.empty() != path.empty(), "train: give exactly one of --data FILE.h5 or --path gaussian");
  require(path.empty() || path == "gaussian", "train: unknown --path '" + path + "' (built-in paths: gaussian)");
  require(path_t1 > path_t0, "train: --t1 must be greater than --t0");
  require(path.empty() ? path_t0 == 0 && path_t1 == 1 : true,
          "train: --t0 and --t1 set the time span of a built-in --path; a --data file carries its own /times");
  require(steps >= 1, "train: --steps must be at least 1");
  require(batch >= 1, "train: --batch must be at least 1");
  require(boundary_batch >= 0, "train: --boundary-batch must be non-negative");
  require(adam.lr > 0 && std::isfinite(adam.lr), "train: --lr must be a positive number");
  require(adam.beta1 >= 0 && adam.beta1 < 1 && adam.beta2 >= 0 && adam.beta2 < 1,
          "train: Adam betas must be in [0, 1)");
  require(adam.eps > 0, "train: --adam-eps must be positive");
  require(adam.warmup >= 0, "train: --warmup must be non-negative");
  require(adam.ema >= 0 && adam.ema < 1, "train: --ema must be in [0, 1)");
  require(dtype == "float" || dtype == "double", "train: --dtype must be float or double");
  require(engine == "auto" || engine == "gemm" || engine == "fused", "train: --engine must be auto, gemm or fused");
  require(log_every >= 1, "train: --log-every must be at least 1");
  require(checkpoint_every >= 1, "train: --checkpoint-every must be at least 1");
  require(on_nan == "stop" || on_nan == "skip", "train: --on-nan must be stop or skip (got '" + on_nan + "')");
  require(!out.empty(), "train: --out DIR is required");
  require(ranks_time >= 0, "train: --ranks-time must be at least 1 (or 0: chosen)");
  require(ranks_time <= 1 || !data.empty(),
          "train: --ranks-time applies to --data (a built-in --path is drawn exactly at any time, not sharded)");
  const am::LossKind kind = am::parse_loss(loss);
  if (kind == am::LossKind::entropic)
  {
    require(!sigma.empty(), "train: --loss eam needs --sigma (the diffusion coefficient, in the data's units)");
    for (double s : sigma)
      require(std::isfinite(s) && s > 0, fmt::format("train: --sigma must be positive and finite (got {})", s));
  }
  else
    require(sigma.empty(), "train: --sigma applies to --loss eam only");
  require(laplacian == "auto" || laplacian == "exact" || laplacian == "hutchinson",
          "train: --laplacian must be auto, exact or hutchinson");
  require(probes >= 1, "train: --probes must be at least 1");
  require(probes <= 4096, "train: --probes must be at most 4096");
  require(probe_dist == "rademacher" || probe_dist == "gaussian", "train: --probe-dist must be rademacher or gaussian");
  require(weight == "none" || weight == "linear", "train: --weight must be none or linear");
  const std::string mode = time_mode();
  require(mode == "coupled" || mode == "nearest" || mode == "quadrature" || mode == "continuous",
          "train: --time must be auto, coupled, nearest, quadrature or continuous");
  require(path.empty() || mode == "continuous",
          "train: --time " + mode + " needs snapshots (--data); a built-in --path is continuous in time");
  require(!path.empty() || mode != "continuous",
          "train: --time continuous needs a built-in --path (snapshots are not continuous in time)");
  require(rule == "trapezoid" || rule == "simpson" || rule == "difference",
          "train: --rule must be trapezoid, simpson or difference");
  require(rule == "trapezoid" || mode == "quadrature", "train: --rule applies to --time quadrature only");
  require(!(rule == "difference" && weight != "none"), "train: --rule difference takes no --weight");
  require(coupling_batch >= 2, "train: --coupling-batch must be at least 2");
  require(coupling_epsilon > 0 && std::isfinite(coupling_epsilon), "train: --coupling-epsilon must be positive");
  require(coupling == "straight" || coupling == "bridge", "train: --coupling must be straight or bridge");
  require(coupling != "bridge" || loss == "eam", "train: --coupling bridge needs --loss eam (a diffusion sigma)");
  am::parse_time_sampling(time_sampling);
  network.validate();
}

nlohmann::json to_json(const TrainConfig &c)
{
  return {{"data", c.data},
          {"path", c.path},
          {"path_t0", c.path_t0},
          {"path_t1", c.path_t1},
          {"normalise", c.normalise},
          {"network", nn::to_json(c.network)},
          {"steps", c.steps},
          {"batch", c.batch},
          {"boundary_batch", c.boundary_batch},
          {"lr", c.adam.lr},
          {"beta1", c.adam.beta1},
          {"beta2", c.adam.beta2},
          {"adam_eps", c.adam.eps},
          {"warmup", c.adam.warmup},
          {"clip", c.adam.clip},
          {"ema", c.adam.ema},
          {"loss", c.loss},
          {"sigma", c.sigma},
          {"laplacian", c.laplacian},
          {"probes", c.probes},
          {"probe_dist", c.probe_dist},
          {"weight", c.weight},
          {"time", c.time},
          {"rule", c.rule},
          {"coupling_batch", c.coupling_batch},
          {"coupling_epsilon", c.coupling_epsilon},
          {"coupling", c.coupling},
          {"time_sampling", c.time_sampling},
          {"dtype", c.dtype},
          {"engine", c.engine},
          {"seed", c.seed},
          {"out", c.out},
          {"log_every", c.log_every},
          {"checkpoint_every", c.checkpoint_every},
          {"on_nan", c.on_nan}};
}

TrainConfig config_from_json(const nlohmann::json &j)
try
{
  TrainConfig c;
  c.data = j.at("data").get<std::string>();
  c.path = j.at("path").get<std::string>();
  c.path_t0 = j.at("path_t0").get<double>();
  c.path_t1 = j.at("path_t1").get<double>();
  c.normalise = j.at("normalise").get<bool>();
  c.network = nn::shape_from_json(j.at("network"));
  c.steps = whole_number<std::int64_t>(j, "steps");
  c.batch = whole_number<int>(j, "batch");
  c.boundary_batch = whole_number<int>(j, "boundary_batch");
  c.adam.lr = j.at("lr").get<double>();
  c.adam.beta1 = j.at("beta1").get<double>();
  c.adam.beta2 = j.at("beta2").get<double>();
  c.adam.eps = j.at("adam_eps").get<double>();
  c.adam.warmup = whole_number<std::int64_t>(j, "warmup");
  c.adam.clip = j.at("clip").get<double>();
  c.adam.ema = j.at("ema").get<double>();
  c.loss = j.value("loss", std::string("am")); // absent in checkpoints of amk ≤ 0.1
  c.sigma = j.value("sigma", std::vector<double>());
  c.laplacian = j.value("laplacian", std::string("auto"));
  c.probes = j.value("probes", 1);
  c.probe_dist = j.value("probe_dist", std::string("rademacher"));
  c.weight = j.value("weight", std::string("none"));
  c.time = j.value("time", std::string("nearest")); // amk ≤ 0.1 trained with the nearest snapshot
  c.rule = j.value("rule", std::string("trapezoid"));
  c.coupling_batch = j.value("coupling_batch", 512);
  c.coupling_epsilon = j.value("coupling_epsilon", 1e-3);
  c.coupling = j.value("coupling", std::string("straight"));
  c.time_sampling = j.at("time_sampling").get<std::string>();
  c.dtype = j.at("dtype").get<std::string>();
  c.engine = j.value("engine", std::string("auto")); // absent in checkpoints of amk ≤ 0.1
  c.seed = whole_number<std::uint64_t>(j, "seed");
  c.out = j.at("out").get<std::string>();
  c.log_every = whole_number<int>(j, "log_every");
  c.checkpoint_every = whole_number<int>(j, "checkpoint_every");
  c.on_nan = j.value("on_nan", std::string("stop")); // absent in checkpoints before 2026-11-24
  return c;
}
catch (const nlohmann::json::exception &e) // a checkpoint written by another tool or damaged
{
  throw Error(std::string("malformed configuration (") + e.what() + ")");
}
} // namespace amk::train

namespace amk::train
{
namespace
{
/// Every `amk train` option that is part of the configuration, and where its value lives in
/// to_json(TrainConfig).
const std::vector<std::pair<std::string, std::string>> &option_fields()
{
  static const std::vector<std::pair<std::string, std::string>> table = {
      {"--data", "/data"},
      {"--path", "/path"},
      {"--t0", "/path_t0"},
      {"--t1", "/path_t1"},
      {"--no-normalise", "/normalise"},
      {"--dim", "/network/dim"},
      {"--width", "/network/width"},
      {"--depth", "/network/depth"},
      {"--activation", "/network/activation"},
      {"--time-features", "/network/time_features"},
      {"--head", "/network/head"},
      {"--steps", "/steps"},
      {"--batch", "/batch"},
      {"--boundary-batch", "/boundary_batch"},
      {"--lr", "/lr"},
      {"--beta1", "/beta1"},
      {"--beta2", "/beta2"},
      {"--warmup", "/warmup"},
      {"--clip", "/clip"},
      {"--ema", "/ema"},
      {"--loss", "/loss"},
      {"--sigma", "/sigma"},
      {"--laplacian", "/laplacian"},
      {"--probes", "/probes"},
      {"--probe-dist", "/probe_dist"},
      {"--weight", "/weight"},
      {"--time", "/time"},
      {"--rule", "/rule"},
      {"--coupling-batch", "/coupling_batch"},
      {"--coupling-epsilon", "/coupling_epsilon"},
      {"--coupling", "/coupling"},
      {"--time-sampling", "/time_sampling"},
      {"--dtype", "/dtype"},
      {"--engine", "/engine"},
      {"--seed", "/seed"},
      {"--out", "/out"},
      {"--log-every", "/log_every"},
      {"--checkpoint-every", "/checkpoint_every"},
      {"--on-nan", "/on_nan"},
  };
  return table;
}
} // namespace

const std::set<std::string> &resumable_options()
{
  static const std::set<std::string> options = {"--steps", "--lr", "--log-every", "--checkpoint-every", "--data",
                                                "--out", "--on-nan"};
  return options;
}

TrainConfig resumed_config(const nlohmann::json &checkpoint, const TrainConfig &requested,
                           const std::optional<std::set<std::string>> &given)
try
{
  const nlohmann::json asked = to_json(requested);
  nlohmann::json merged = checkpoint;
  for (const auto &[option, field] : option_fields())
  {
    if (given && !given->count(option))
      continue;
    if (option == "--dim" && merged.value("path", std::string()).empty())
      continue; // a data run's dimension is the data's
    const nlohmann::json::json_pointer at(field);
    if (!merged.contains(at))
      continue; // a field this checkpoint's amk did not store: keep the default
    if (resumable_options().count(option))
      merged[at] = asked[at];
    else if (merged[at] != asked[at])
      throw Error(fmt::format("train: --resume cannot change {} (the checkpoint has {}, given {}); continue "
                              "without it or start a new run in another --out",
                              option, merged[at].dump(), asked[at].dump()));
  }
  return config_from_json(merged);
}
catch (const nlohmann::json::exception &e)
{
  throw Error(std::string("malformed configuration (") + e.what() + ")");
}
} // namespace amk::train

namespace amk::train
{
am::Objective make_objective(const TrainConfig &c, const data::Normalisation &norm, const std::vector<double> &snapshot_times)
{
  am::Objective o;
  o.kind = am::parse_loss(c.loss);
  const std::string mode = c.time_mode();
  o.time = mode == "coupled"      ? am::TimeMode::coupled
           : mode == "nearest"    ? am::TimeMode::nearest
           : mode == "quadrature" ? am::TimeMode::quadrature
                                  : am::TimeMode::continuous;
  o.rule = c.rule == "simpson"      ? am::QuadratureRule::simpson
           : c.rule == "difference" ? am::QuadratureRule::difference
                                    : am::QuadratureRule::trapezoid;
  if (o.time == am::TimeMode::quadrature)
    o.nodes = snapshot_times;
  o.weighting = c.weight == "linear" ? am::Weighting::linear : am::Weighting::none;
  if (o.kind == am::LossKind::entropic)
  {
    // dX = ∇s dT + σ dW in physical units is dx̃ = ∇̃s̃ dt + σ̃ dW̃ with σ̃ = σ √span / scale
    const double to_normalised = std::sqrt(norm.span) / norm.scale;
    const std::size_t n = c.sigma.size(), K = snapshot_times.size();
    if (n == 1)
      o.sigma_t = {0.0};
    else if (n == 2 && K != 2)
      o.sigma_t = {0.0, 1.0};
    else
    {
      require(n == K, K == 0 ? fmt::format("train: --sigma takes one value (constant) or two (linear in time) with "
                                           "a built-in --path, got {}",
                                           n)
                             : fmt::format("train: --sigma takes one value (constant), two (linear in time) or one "
                                           "per snapshot ({}), got {}",
                                           K, n));
      o.sigma_t = snapshot_times;
    }
    for (double s : c.sigma)
      o.sigma.push_back(s * to_normalised);
    const bool exact = c.laplacian == "exact" || (c.laplacian == "auto" && c.network.dim <= 16);
    o.laplacian = exact ? am::LaplacianMode::exact : am::LaplacianMode::hutchinson;
    o.probes = c.probes;
    o.probe_distribution =
        c.probe_dist == "gaussian" ? am::ProbeDistribution::gaussian : am::ProbeDistribution::rademacher;
  }
  if (o.kind == am::LossKind::unbalanced)
    o.growth = norm.scale * norm.scale; // ½|∇s|² + ½s² in physical units: ½|∇̃s̃|² + ½ℓ²s̃² normalised
  return o;
}

io::Checkpoint load_checkpoint(const std::string &path)
{
  const io::Checkpoint c = io::read_checkpoint(path);
  try
  {
    const auto shape = nn::shape_from_json(c.config.at("network"));
    require(std::int64_t(c.params.size()) == shape.param_count(),
            fmt::format("{}: /params holds {} values but the network in its config has {} parameters", path,
                        c.params.size(), shape.param_count()));
    require(c.normalisation.shift.size() == std::size_t(shape.dim),
            fmt::format("{}: /shift has {} values for a network of dimension {}", path, c.normalisation.shift.size(),
                        shape.dim));
    const std::string dtype = c.config.value("dtype", std::string("float"));
    require(dtype == "float" || dtype == "double", path + ": dtype '" + dtype + "' is neither float nor double");
    am::objective_from_json(c.objective);
  }
  catch (const nlohmann::json::exception &e)
  {
    throw Error(path + ": malformed config attribute (" + e.what() + ")");
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
