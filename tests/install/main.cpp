// amk as a C++ library (the README's example; the install test builds it against an installed
// amk, find_package(amk), and runs it): train the action from snapshots held in memory, write
// the checkpoint, build a model from it and evaluate the learned velocity at points, in the
// data's own units. It checks the velocity against the closed form of the Gaussian path the
// snapshots come from, and an evaluator's gradient against its finite difference.
#include <amk/amk.hpp>
#include <cmath>
#include <cstdio>

int main(int argc, char **argv)
{
  amk::dist::Environment mpi(argc, argv);
  Kokkos::ScopeGuard kokkos(argc, argv);
  using Exec = amk::DefaultExec;
  const Exec space;

  // 1. Snapshots in memory: 11 times over T in [3, 5], 2000 samples each, d = 2, centred at 50
  //    (SnapshotData: times [K], x [N × d] row-major grouped by snapshot, offsets [K + 1])
  const auto path = amk::examples::GaussianPath::preset(2, 3.0, 5.0, 50.0);
  const amk::data::SnapshotData snapshots = path.snapshots(11, 2000, 1);

  // 2. A run specification (typed: what `amk train` parses its options into) and a trainer
  amk::train::RunSpec spec;
  spec.data = "(in memory)";
  spec.out = "(not written)";
  spec.network.dim = 2;
  spec.network.width = 32;
  spec.batch = 256;
  spec.steps = 1500;
  auto source = amk::train::snapshot_source<float>(space, spec, snapshots); // normalised, coupled
  amk::train::Trainer<float> trainer(space, spec, source, amk::dist::Comm::world());
  trainer.choose_engine(); // --engine auto: time every engine that fits on the first batch
  while (trainer.completed_steps() < spec.steps)
    trainer.step();

  // 3. The checkpoint `amk sample` and `amk field` read, and a model from it
  amk::io::write_checkpoint("model.h5", trainer.checkpoint());
  const amk::io::Checkpoint checkpoint = amk::train::load_checkpoint("model.h5");
  amk::sample::ActionModel<float> model(space, checkpoint, /*use_ema=*/true);
  std::vector<double> x, t; // points (n × d) and times, physical units
  for (int i = 0; i < 400; ++i)
  {
    const double T = 3.2 + 1.6 * (i % 5) / 4.0, tau = path.normalised(T);
    for (int r = 0; r < 2; ++r)
      x.push_back(path.mean(r, tau) + path.stddev(r, tau) * std::sin(1.7 * i + r));
    t.push_back(T);
  }
  const amk::sample::PhysicalField field = amk::sample::field_at(space, model, x, t);
  double err = 0, ref = 0;
  for (std::size_t c = 0; c < t.size(); ++c)
    for (int r = 0; r < 2; ++r)
    {
      const double v = path.velocity(r, x[c * 2 + r], t[c]);
      err += (field.velocity[c * 2 + r] - v) * (field.velocity[c * 2 + r] - v);
      ref += v * v;
    }
  const double relative = std::sqrt(err / ref);
  std::printf("library example: %s engine, velocity %.1f %% off the closed form\n", model.engine_name(),
              100 * relative);

  // 4. An evaluator (no loss in it): s and ∇ᵤs of a network at columns u = [x, t]
  amk::nn::MlpShape shape;
  shape.dim = 2;
  shape.width = 8;
  shape.depth = 2;
  amk::Vector<double, Exec> params("params", shape.param_count());
  amk::nn::initialize(space, shape, params, 1);
  auto evaluator = amk::nn::make_evaluator<double, Exec>(space, std::nullopt, shape, amk::nn::Capacity{1, 1, 0});
  amk::nn::Evaluation<double, Exec> out;
  out.value = amk::Vector<double, Exec>("s", 1);
  out.gradient = amk::Matrix<double, Exec>("g", shape.input_size(), 1);
  auto value_and_gradient = [&](double x0, double *g0)
  {
    evaluator->set_batch(1, 1);
    auto u = Kokkos::create_mirror_view(evaluator->input());
    u(0, 0) = x0;
    u(1, 0) = 0.3;
    u(2, 0) = 0.5;
    Kokkos::deep_copy(evaluator->input(), u);
    evaluator->evaluate(space, params, out);
    auto s = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.value);
    auto g = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.gradient);
    if (g0)
      *g0 = g(0, 0);
    return s(0);
  };
  double g = 0;
  value_and_gradient(0.2, &g);
  const double h = 1e-5, fd = (value_and_gradient(0.2 + h, nullptr) - value_and_gradient(0.2 - h, nullptr)) / (2 * h);
  std::printf("evaluator: ds/dx = %.10f, finite difference %.10f\n", g, fd);
  // measured 3.2 % for the velocity (1500 steps of a width-32 network)
  return relative < 0.1 && std::abs(g - fd) < 1e-7 * (1 + std::abs(fd)) ? 0 : 1;
}
