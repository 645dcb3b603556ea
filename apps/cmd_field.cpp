// amk field: the learned action, velocity and ∂s/∂t at given points, in physical units.
#include "commands.hpp"
#include <amk/dist/comm.hpp>
#include <amk/io/hdf5.hpp>
#include <amk/sample/model.hpp>
#include <cmath>
#include <fmt/format.h>

namespace amk::app
{
namespace
{
struct FieldOptions
{
  std::string checkpoint, points, out, weights = "ema";
};

template <class Scalar> void run_field(const FieldOptions &o, const io::Checkpoint &checkpoint)
{
  using Exec = DefaultExec;
  const Exec space;
  sample::ActionModel<Scalar> model(space, checkpoint, o.weights == "ema");
  const auto &norm = model.normalisation();
  const int d = model.shape().dim;

  io::H5Reader in(o.points);
  require(in.has("/x"), o.points + ": missing dataset /x [n, d]");
  require(in.has("/t"), o.points + ": missing dataset /t [n]");
  const auto xs = in.shape("/x"), ts = in.shape("/t");
  require(xs.size() == 2 && xs[1] == d,
          fmt::format("{}: /x must have shape [n, {}] (the checkpoint's dimension)", o.points, d));
  require(ts.size() == 1 && ts[0] == xs[0], o.points + ": /t must have shape [n] with n = rows of /x");
  const std::int64_t n = xs[0];
  require(n >= 1, o.points + ": /x has no points");
  const auto x = in.read_f64("/x"), t = in.read_f64("/t");
  for (double v : x)
    require(std::isfinite(v), o.points + ": /x holds NaN or Inf");
  for (double v : t)
    require(std::isfinite(v), o.points + ": /t holds NaN or Inf");

  auto X = uninitialized<Matrix<Scalar, Exec>>(space, "amk::field::x", d, n);
  auto Tn = uninitialized<Vector<Scalar, Exec>>(space, "amk::field::t", n);
  auto S = uninitialized<Vector<Scalar, Exec>>(space, "amk::field::s", n);
  auto G = uninitialized<Matrix<Scalar, Exec>>(space, "amk::field::grad", d, n);
  auto D = uninitialized<Vector<Scalar, Exec>>(space, "amk::field::dsdt", n);
  auto Xh = Kokkos::create_mirror_view(X);
  auto Th = Kokkos::create_mirror_view(Tn);
  for (std::int64_t c = 0; c < n; ++c)
  {
    Th(c) = Scalar(norm.normalised_time(t[c]));
    for (int r = 0; r < d; ++r)
      Xh(r, c) = Scalar((x[c * d + r] - norm.shift[r]) / norm.scale);
  }
  Kokkos::deep_copy(space, X, Xh);
  Kokkos::deep_copy(space, Tn, Th);
  model.evaluate(space, X, Tn, S, G, D);
  auto Sh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), S);
  auto Gh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), G);
  auto Dh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), D);
  // physical units (data/normalisation.hpp): s = (ℓ²/span) s̃, v = (ℓ/span) ∇s̃, ∂s/∂T = (ℓ²/span²) ∂ₜs̃
  const double l = norm.scale, span = norm.span;
  std::vector<double> s(n), v(n * d), dsdt(n);
  for (std::int64_t c = 0; c < n; ++c)
  {
    s[c] = l * l / span * double(Sh(c));
    dsdt[c] = l * l / (span * span) * double(Dh(c));
    for (int r = 0; r < d; ++r)
      v[c * d + r] = l / span * double(Gh(r, c));
  }
  io::H5Writer w(o.out);
  w.write_f64("/s", s.data(), {n});
  w.write_f64("/grad_x", v.data(), {n, d});
  w.write_f64("/ds_dt", dsdt.data(), {n});
  w.write_string_attr("checkpoint", o.checkpoint);
  w.write_string_attr("weights", o.weights);
  w.commit();
  fmt::print("amk field: evaluated {} points; wrote {}\n", n, o.out);
}
} // namespace

Action add_field(CLI::App &app)
{
  auto *cmd = app.add_subcommand("field", "Evaluate s, the velocity grad_x s and ds/dt at points (/x [n,d], /t [n])");
  auto o = std::make_shared<FieldOptions>();
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint written by amk train")->required();
  cmd->add_option("--points", o->points, "HDF5 file with /x [n, d] and /t [n] (physical units)")->required();
  cmd->add_option("--weights", o->weights, "ema or raw")->check(CLI::IsMember({"ema", "raw"}))->capture_default_str();
  cmd->add_option("--out", o->out, "Output HDF5 file: /s [n], /grad_x [n, d], /ds_dt [n]")->required();
  return [o]()
  {
    if (!dist::Comm::world().root())
      return 0;
    const auto checkpoint = io::read_checkpoint(o->checkpoint);
    with_checkpoint_scalar(checkpoint, [&](auto scalar) { run_field<decltype(scalar)>(*o, checkpoint); });
    return 0;
  };
}
} // namespace amk::app
