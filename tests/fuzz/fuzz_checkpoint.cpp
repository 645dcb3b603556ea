// libFuzzer harness: checkpoints as amk sample, field and train --resume use them: read and
// checked (read_checkpoint), loaded into a model that evaluates the field at a point (sample,
// field) and turned into the configuration a resumed run continues with (--resume). Inputs:
// byte-mutated checkpoints, and checkpoints written with a valid checksum around fuzzed
// content (the files another tool or an older amk could write: wrong networks, dtypes,
// objectives, normalisations, sizes).
#include "fuzz_common.hpp"
#include <Kokkos_Core.hpp>
#include <amk/io/checkpoint.hpp>
#include <amk/sample/model.hpp>
#include <amk/train/checkpoint.hpp>
#include <amk/train/options.hpp>

namespace
{
using amk::fuzz::pick_double;

/// Replaces one value of a JSON object (or one of its sub-objects) by a value of another kind.
void mutate_json(FuzzedDataProvider &p, nlohmann::json &j)
{
  nlohmann::json *at = &j;
  while (at->is_object() && !at->empty())
  {
    auto it = at->begin();
    std::advance(it, p.ConsumeIntegralInRange<std::size_t>(0, at->size() - 1));
    at = &it.value();
    if (!at->is_object() || p.ConsumeBool())
      break;
  }
  switch (p.ConsumeIntegralInRange<int>(0, 6))
  {
  case 0:
    *at = nullptr;
    break;
  case 1:
    *at = p.ConsumeIntegralInRange<std::int64_t>(-3, 1 << 20);
    break;
  case 2:
    *at = pick_double(p);
    break;
  case 3:
    *at = p.ConsumeRandomLengthString(16);
    break;
  case 4:
    *at = nlohmann::json::array({pick_double(p), pick_double(p)});
    break;
  case 5:
    *at = nlohmann::json::object();
    break;
  default:
    *at = p.ConsumeBool();
  }
}

amk::io::Checkpoint build(FuzzedDataProvider &p)
{
  amk::train::RunSpec config;
  config.network.dim = p.ConsumeIntegralInRange<int>(1, 3);
  config.network.width = p.ConsumeIntegralInRange<int>(1, 6);
  config.network.depth = p.ConsumeIntegralInRange<int>(1, 3);
  config.network.time_features = p.ConsumeIntegralInRange<int>(0, 2);
  config.dtype = p.ConsumeBool() ? amk::train::Precision::float32 : amk::train::Precision::float64;
  config.loss = p.PickValueInArray(
      {amk::am::LossKind::plain, amk::am::LossKind::entropic, amk::am::LossKind::unbalanced});
  amk::io::Checkpoint c;
  c.config = amk::train::to_json(config);
  amk::am::Objective objective;
  objective.kind = config.loss;
  if (objective.kind == amk::am::LossKind::entropic)
  {
    objective.sigma_t = {0.0, 1.0};
    objective.sigma = {pick_double(p), 0.5};
  }
  objective.growth = p.ConsumeBool() ? 0.0 : pick_double(p);
  c.objective = p.ConsumeIntegralInRange<int>(0, 5) ? amk::am::to_json(objective) : nlohmann::json();
  for (int n = p.ConsumeIntegralInRange<int>(0, 2); n > 0; --n)
    mutate_json(p, p.ConsumeBool() ? c.config : c.objective);
  std::int64_t P = config.network.param_count();
  if (p.ConsumeIntegralInRange<int>(0, 3) == 0)
    P = p.ConsumeIntegralInRange<std::int64_t>(0, P + 3);
  for (auto *v : {&c.params, &c.ema, &c.adam_m, &c.adam_v})
  {
    v->assign(std::size_t(P), 0.1);
    if (p.ConsumeIntegralInRange<int>(0, 7) == 0 && P > 0)
      (*v)[p.ConsumeIntegralInRange<std::size_t>(0, std::size_t(P) - 1)] = pick_double(p);
  }
  if (p.ConsumeIntegralInRange<int>(0, 9) == 0)
    c.ema.resize(std::size_t(p.ConsumeIntegralInRange<std::int64_t>(0, P + 2)));
  c.normalisation.shift.assign(std::size_t(config.network.dim), 100.0);
  if (p.ConsumeIntegralInRange<int>(0, 7) == 0)
    c.normalisation.shift.resize(std::size_t(p.ConsumeIntegralInRange<int>(0, 4)), pick_double(p));
  c.normalisation.t0 = p.ConsumeIntegralInRange<int>(0, 5) ? 10.0 : pick_double(p);
  c.normalisation.span = p.ConsumeIntegralInRange<int>(0, 5) ? 5.0 : pick_double(p);
  c.normalisation.scale = p.ConsumeIntegralInRange<int>(0, 5) ? 2.0 : pick_double(p);
  c.step = p.ConsumeIntegralInRange<int>(0, 5) ? 100 : p.ConsumeIntegralInRange<std::int64_t>(-5, 5);
  c.ranks = p.ConsumeIntegralInRange<int>(0, 5) ? 1 : p.ConsumeIntegralInRange<std::int64_t>(-1, 3);
  return c;
}

/// What sample and field do with a checkpoint: the model at one point, in physical units.
template <class Scalar> void evaluate(const amk::io::Checkpoint &checkpoint)
{
  const amk::DefaultExec space;
  amk::sample::ActionModel<Scalar> model(space, checkpoint, true, 4);
  const int d = model.shape().dim;
  const auto f = amk::sample::field_at(space, model, std::vector<double>(std::size_t(d), 100.0), {12.0});
  (void)f;
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
  Kokkos::initialize();
  std::atexit(Kokkos::finalize);
  return 0;
}

namespace
{
int one_input(const std::uint8_t *data, std::size_t size)
{
  const std::string &path = amk::fuzz::scratch("checkpoint.h5");
  if (amk::fuzz::is_hdf5_file(data, size))
    amk::fuzz::write_file(path, data, size);
  else
  {
    FuzzedDataProvider p(data, size);
    bool built = false;
    amk::fuzz::only_amk_errors([&] {
      amk::io::write_checkpoint(path, build(p));
      built = true;
    });
    if (!built)
      return 0;
  }
  if (amk::fuzz::declares_huge_datasets(path))
    return 0;
  amk::fuzz::only_amk_errors([&] {
    const auto checkpoint = amk::train::load_checkpoint(path);
    amk::fuzz::only_amk_errors([&] {
      amk::train::with_precision(checkpoint, [&](auto scalar) { evaluate<decltype(scalar)>(checkpoint); });
    });
    amk::fuzz::only_amk_errors([&] {
      amk::train::validate(
          amk::train::resumed_spec(checkpoint.config, amk::train::RunSpec{}, std::set<std::string>{}));
    });
  });
  std::remove(path.c_str());
  return 0;
}
} // namespace

AMK_FUZZ_ENTRY(one_input)
