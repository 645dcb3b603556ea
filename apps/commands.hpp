#pragma once
// The `amk` subcommands: each adds itself to the command line and returns the action to
// run once the line is parsed (after Kokkos and MPI are up).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <amk/train/config.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace amk::app
{
using Action = std::function<int()>;

Action add_datagen(CLI::App &app);
Action add_train(CLI::App &app); // add_train_options, then train::run_training
Action add_sample(CLI::App &app);
Action add_field(CLI::App &app);
Action add_eval(CLI::App &app);
Action add_bench(CLI::App &app);
Action add_info(CLI::App &app);

/// `amk train`'s options on its subcommand; config() is the line's configuration (set
/// `given` to the option names the line or --config gave). Checked by train::run_training.
struct TrainOptions
{
  CLI::App *cmd;
  std::shared_ptr<train::TrainConfig> parsed;
  std::shared_ptr<bool> resume;
  std::shared_ptr<std::string> activation, head;
  train::TrainConfig config(std::set<std::string> *given = nullptr) const;
};
TrainOptions add_train_options(CLI::App &app);

/// `amk train --config FILE.toml …`: the file's `key = value` lines become `--key value`
/// options placed before the command line's own, which therefore win (every option takes
/// its last occurrence). CLI11 2.1 reads config files for the top-level app only, so the
/// file is expanded here, with CLI11's own TOML reader. amk::Error on an unreadable file.
std::vector<std::string> expand_config(std::vector<std::string> args);

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
