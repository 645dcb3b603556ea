#include <amk/am/batch.hpp>
#include <amk/core/error.hpp>
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
  require(!out.empty(), "train: --out DIR is required");
  am::parse_time_sampling(time_sampling);
  network.validate();
}

nlohmann::json to_json(const nn::MlpShape &s)
{
  return {{"dim", s.dim},
          {"width", s.width},
          {"depth", s.depth},
          {"activation", nn::to_string(s.activation)},
          {"time_features", s.time_features},
          {"head", nn::to_string(s.head)}};
}

nn::MlpShape shape_from_json(const nlohmann::json &j)
{
  nn::MlpShape s;
  s.dim = j.at("dim").get<int>();
  s.width = j.at("width").get<int>();
  s.depth = j.at("depth").get<int>();
  s.activation = nn::parse_activation(j.at("activation").get<std::string>());
  s.time_features = j.at("time_features").get<int>();
  s.head = nn::parse_head(j.at("head").get<std::string>());
  s.validate();
  return s;
}

nlohmann::json to_json(const TrainConfig &c)
{
  return {{"data", c.data},
          {"path", c.path},
          {"path_t0", c.path_t0},
          {"path_t1", c.path_t1},
          {"normalise", c.normalise},
          {"network", to_json(c.network)},
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
          {"time_sampling", c.time_sampling},
          {"dtype", c.dtype},
          {"engine", c.engine},
          {"seed", c.seed},
          {"out", c.out},
          {"log_every", c.log_every},
          {"checkpoint_every", c.checkpoint_every}};
}

TrainConfig config_from_json(const nlohmann::json &j)
{
  TrainConfig c;
  c.data = j.at("data").get<std::string>();
  c.path = j.at("path").get<std::string>();
  c.path_t0 = j.at("path_t0").get<double>();
  c.path_t1 = j.at("path_t1").get<double>();
  c.normalise = j.at("normalise").get<bool>();
  c.network = shape_from_json(j.at("network"));
  c.steps = j.at("steps").get<std::int64_t>();
  c.batch = j.at("batch").get<int>();
  c.boundary_batch = j.at("boundary_batch").get<int>();
  c.adam.lr = j.at("lr").get<double>();
  c.adam.beta1 = j.at("beta1").get<double>();
  c.adam.beta2 = j.at("beta2").get<double>();
  c.adam.eps = j.at("adam_eps").get<double>();
  c.adam.warmup = j.at("warmup").get<std::int64_t>();
  c.adam.clip = j.at("clip").get<double>();
  c.adam.ema = j.at("ema").get<double>();
  c.time_sampling = j.at("time_sampling").get<std::string>();
  c.dtype = j.at("dtype").get<std::string>();
  c.engine = j.value("engine", std::string("auto")); // absent in checkpoints of amk ≤ 0.1
  c.seed = j.at("seed").get<std::uint64_t>();
  c.out = j.at("out").get<std::string>();
  c.log_every = j.at("log_every").get<int>();
  c.checkpoint_every = j.at("checkpoint_every").get<int>();
  return c;
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
      {"--time-sampling", "/time_sampling"},
      {"--dtype", "/dtype"},
      {"--engine", "/engine"},
      {"--seed", "/seed"},
      {"--out", "/out"},
      {"--log-every", "/log_every"},
      {"--checkpoint-every", "/checkpoint_every"},
  };
  return table;
}
} // namespace

const std::set<std::string> &resumable_options()
{
  static const std::set<std::string> options = {"--steps", "--lr", "--log-every", "--checkpoint-every", "--data",
                                                "--out"};
  return options;
}

TrainConfig resumed_config(const nlohmann::json &checkpoint, const TrainConfig &requested,
                           const std::optional<std::set<std::string>> &given)
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
} // namespace amk::train
