// amk datagen gaussian: snapshots of the built-in Gaussian path (closed-form AM solution).
#include "commands.hpp"
#include <amk/data/gaussian_path.hpp>
#include <amk/dist/comm.hpp>
#include <amk/io/snapshot_file.hpp>
#include <fmt/format.h>

namespace amk::app
{
Action add_datagen(CLI::App &app)
{
  auto *cmd = app.add_subcommand("datagen", "Write snapshots of a built-in path to an HDF5 data file");
  cmd->require_subcommand(1);
  auto *gauss = cmd->add_subcommand(
      "gaussian", "Anisotropic Gaussian path q_t = N((1-t)mu0 + t mu1, diag((1-t)sigma0 + t sigma1)^2), "
                  "mu0 = 0, mu1 = (2,-1,2,...), sigma0 = 1, sigma1 = (0.5,1.5,...)");
  struct Options
  {
    int dim = 2, snapshots = 10;
    std::int64_t samples = 2000;
    double t0 = 0, t1 = 1, offset = 0;
    std::uint64_t seed = 0;
    bool float32 = false;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  gauss->add_option("--dim", o->dim, "Space dimension d")->check(CLI::PositiveNumber)->capture_default_str();
  gauss->add_option("--snapshots", o->snapshots, "Number of equally spaced snapshots K")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  gauss->add_option("--samples", o->samples, "Samples per snapshot N")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  gauss->add_option("--t0", o->t0, "Physical time of the first snapshot")->capture_default_str();
  gauss->add_option("--t1", o->t1, "Physical time of the last snapshot")->capture_default_str();
  gauss->add_option("--offset", o->offset, "Added to every coordinate of mu0 and mu1 (data away from the origin)")
      ->capture_default_str();
  gauss->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  gauss->add_flag("--float32", o->float32, "Store /x as float32");
  gauss->add_option("--out", o->out, "Output HDF5 file")->required();
  return [o, gauss]()
  {
    if (!dist::Comm::world().root() || !*gauss)
      return 0;
    const auto path = data::GaussianPath::preset(o->dim, o->t0, o->t1, o->offset);
    const auto snapshots = path.snapshots(o->snapshots, o->samples, o->seed);
    io::write_snapshots(o->out, snapshots, o->float32, {{"amk_source", path.describe()}});
    fmt::print("amk datagen: wrote {} ({} snapshots x {} samples, d = {}, t in [{}, {}])\n", o->out, o->snapshots,
               o->samples, o->dim, o->t0, o->t1);
    return 0;
  };
}
} // namespace amk::app
