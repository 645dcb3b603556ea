#pragma once
// The `amk` subcommands: each adds itself to the command line and returns the action to
// run once the line is parsed (after Kokkos and MPI are up).
#include "option_table.hpp"
#include <CLI/CLI.hpp>
#include <cstdint>
#include <amk/io/import.hpp>
#include <amk/sample/model.hpp>
#include <nlohmann/json.hpp>
#include <amk/train/run_spec.hpp>
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
Action add_convert(CLI::App &app);

/// `amk train`'s options on its subcommand; spec() is the line's run specification (set
/// `given` to the option names the line or --config gave). Checked by train::run_training.
struct TrainOptions
{
  CLI::App *cmd;
  std::shared_ptr<OptionWords> words;
  std::shared_ptr<bool> resume;
  train::RunSpec spec(std::set<std::string> *given = nullptr) const;
};
TrainOptions add_train_options(CLI::App &app);

/// `amk train --config FILE.toml …`: the file's `key = value` lines become `--key value`
/// options, except those the command line gives itself (which win). CLI11 2.1 reads config
/// files for the top-level app only, so the file is expanded here, with CLI11's own TOML
/// reader. amk::Error on an unreadable file.
std::vector<std::string> expand_config(std::vector<std::string> args);

/// Points at which a field is evaluated: /x [n, d] and /t [n] (physical units) of an HDF5
/// file, checked for shape (d: the expected dimension) and finite values (amk field, eval).
struct Points
{
  std::vector<double> x, t;
  std::int64_t n = 0;
};
Points read_points(const std::string &path, std::int64_t d);

/// `--engine` of the commands that evaluate a trained network (sample, field, eval): trained
/// (the default: the engine its run trained with), auto, or an engine's name.
CLI::Option *add_inference_engine(CLI::App *cmd, sample::InferenceEngine &engine);
/// --weights ema|raw of the same commands.
CLI::Option *add_weights(CLI::App *cmd, sample::Weights &weights, const std::string &help = "ema or raw");

/// --time-column and --dims (how a --data table is read) of sample, eval and convert.
void add_import_options(CLI::App *cmd, io::ImportOptions &import);
/// The import options for data a checkpoint's run read: those given, else the run's own
/// (its config's time_column and dims), so the training table reads alike without repeating them.
io::ImportOptions import_of_run(const io::ImportOptions &given, const nlohmann::json &config);

} // namespace amk::app
