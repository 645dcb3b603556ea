// amk field: the learned action, velocity and ∂s/∂t at given points, in physical units.
#include "commands.hpp"
#include <amk/dist/comm.hpp>
#include <amk/io/hdf5.hpp>
#include <amk/sample/model.hpp>
#include <amk/train/checkpoint.hpp>
#include <cmath>
#include <fmt/format.h>
#include <vector>

namespace amk::app
{
namespace
{
struct FieldOptions
{
  std::string checkpoint, points, out;
  sample::Weights weights = sample::Weights::ema;
  sample::InferenceEngine engine;
};

template <class Scalar> void run_field(const FieldOptions &o, const io::Checkpoint &checkpoint)
{
  using Exec = DefaultExec;
  const Exec space;
  sample::ActionModel<Scalar> model(space, checkpoint, o.weights == sample::Weights::ema, 8192, false, o.engine);
  const int d = model.shape().dim;

  const auto points = read_points(o.points, d);
  const std::int64_t n = points.n;
  const auto f = sample::field_at(space, model, points.x, points.t);
  io::H5Writer w(o.out);
  w.write_f64("/s", f.s.data(), {n});
  w.write_f64("/grad_x", f.velocity.data(), {n, d});
  w.write_f64("/ds_dt", f.ds_dt.data(), {n});
  if (model.objective().kind == am::LossKind::unbalanced)
  { // the per-capita growth rate d log w/dT = s/L² (amk train --growth-length)
    std::vector<double> rate(f.s.size());
    for (std::size_t i = 0; i < rate.size(); ++i)
      rate[i] = model.growth_per_action() * f.s[i];
    w.write_f64("/growth_rate", rate.data(), {n});
  }
  w.write_string_attr("checkpoint", o.checkpoint);
  w.write_string_attr("weights", name_of(o.weights));
  w.write_string_attr("engine", model.engine_name());
  w.commit();
  fmt::print("amk field: evaluated {} points ({} engine); wrote {}\n", n, model.engine_name(), o.out);
}
} // namespace

Action add_field(CLI::App &app)
{
  auto *cmd = app.add_subcommand("field", "Evaluate s, the velocity grad_x s and ds/dt at points (/x [n,d], /t [n])");
  auto o = std::make_shared<FieldOptions>();
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint written by amk train")->required();
  cmd->add_option("--points", o->points, "HDF5 file with /x [n, d] and /t [n] (physical units)")->required();
  add_weights(cmd, o->weights);
  cmd->add_option("--out", o->out, "Output HDF5 file: /s [n], /grad_x [n, d], /ds_dt [n]; /growth_rate [n] for --loss uam")->required();
  add_inference_engine(cmd, o->engine);
  return [o]()
  {
    if (!dist::Comm::world().root())
      return 0;
    const auto checkpoint = train::load_checkpoint(o->checkpoint);
    train::with_precision(checkpoint, [&](auto scalar) { run_field<decltype(scalar)>(*o, checkpoint); });
    return 0;
  };
}
} // namespace amk::app
