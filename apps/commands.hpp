#pragma once
// The `amk` subcommands: each adds itself to the command line and returns the action to
// run once the line is parsed (after Kokkos and MPI are up).
#include <CLI/CLI.hpp>
#include <functional>

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

/// Calls f(float{}) or f(double{}): the precision a checkpoint's network was trained in.
template <class Checkpoint, class F> void with_checkpoint_scalar(const Checkpoint &checkpoint, F &&f)
{
  if (checkpoint.config.value("dtype", std::string("float")) == "double")
    f(double{});
  else
    f(float{});
}
} // namespace amk::app
