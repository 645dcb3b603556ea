#pragma once
// The `amk` subcommands: each adds itself to the command line and returns the action to
// run once the line is parsed (after Kokkos and MPI are up).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace amk::app
{
using Action = std::function<int()>;

Action add_datagen(CLI::App &app);
Action add_train(CLI::App &app);
Action add_sample(CLI::App &app);
Action add_field(CLI::App &app);
Action add_eval(CLI::App &app);
Action add_bench(CLI::App &app);
Action add_info(CLI::App &app);

/// Points at which a field is evaluated: /x [n, d] and /t [n] (physical units) of an HDF5
/// file, checked for shape (d: the expected dimension) and finite values (amk field, eval).
struct Points
{
  std::vector<double> x, t;
  std::int64_t n = 0;
};
Points read_points(const std::string &path, std::int64_t d);

/// Calls f(float{}) or f(double{}): the precision a checkpoint's network was trained in.
template <class Checkpoint, class F> void with_checkpoint_scalar(const Checkpoint &checkpoint, F &&f)
{
  if (checkpoint.config.value("dtype", std::string("float")) == "double")
    f(double{});
  else
    f(float{});
}
} // namespace amk::app
