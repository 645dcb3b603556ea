#pragma once
// The option table of `amk train`: ONE row per option (its name, type, default, help and
// units, where it is stored in a checkpoint, which settings it applies to, whether --resume
// may change it, the check of its value). Everything that reads or writes a run
// specification is generated from it:
//   the command line and --config TOML files   (apps/option_table.cpp: CLI11 options from the rows)
//   the checkpoint's config JSON                to_json, spec_from_json
//   the resume rule                             resumed_spec
//   the validation                              validate (each row's check, "applies to", and
//                                               the few rules between options)
// A new option is one row in src/train/options.cpp and its field in train/run_spec.hpp.
#include <amk/train/run_spec.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace amk::train
{
struct Option
{
  enum class Arity
  {
    flag, ///< --name, no value
    one,  ///< --name VALUE
    many  ///< --name V1 V2 …
  };
  enum class Resume
  {
    fixed,     ///< part of the model: --resume refuses another value
    resumable, ///< the run's length, cadence, learning rate, files
    layout     ///< the MPI layout: not stored, taken from the resumed command line
  };

  std::string name;          ///< "loss": --loss on the command line, `loss = …` in a --config file
  std::string json;          ///< its place in the checkpoint's config ("/network/width"; "" not stored)
  std::string help;          ///< help text, with units
  std::string value_names;   ///< "{am,eam,uam}" for named choices, else the value's type
  std::string default_text;  ///< the default as the command line would write it
  Arity arity = Arity::one;
  Resume resume = Resume::fixed;
  std::string applies_text;  ///< where it applies ("--loss eam only"); "" everywhere
  std::function<bool(const RunSpec &)> applies; ///< empty: everywhere
  bool applies_needs_dimension = false;          ///< applies() reads the data's dimension
  bool set_by_data = false; ///< a --data file sets the value itself (the dimension): not "given" unless named
  /// From the command line or a --config file (flag: no words); amk::Error naming the option.
  std::function<void(RunSpec &, const std::vector<std::string> &)> parse;
  std::function<nlohmann::json(const RunSpec &)> get; ///< the value as a checkpoint stores it
  std::function<void(RunSpec &, const nlohmann::json &)> set; ///< back from a checkpoint (checked for type)
  std::function<std::string(const RunSpec &)> check;          ///< "" or what is wrong with the value
  std::optional<nlohmann::json> absent; ///< a checkpoint without the field reads this (none: required)

  std::string flag() const { return "--" + name; }
  /// The value differs from the default (a library user's "given").
  bool differs_from_default(const RunSpec &spec) const { return get(spec) != get(RunSpec()); }
};

/// The table, in --help order.
const std::vector<Option> &options();
/// The row called `name` ("loss"); amk::Error for an unknown name.
const Option &option(const std::string &name);

/// Checks `spec`: each row's value, each given row's "applies to", the rules between options.
/// amk::Error naming the first problem.
/// \param given [in] the option names ("--lr") set on the command line or in --config;
///                   without it every option whose value is not the default counts as given
/// \param dimension_known [in] false before a --data file's dimension is read (its
///                   dimension-dependent rules wait)
void validate(const RunSpec &spec, const std::set<std::string> *given = nullptr, bool dimension_known = true);

nlohmann::json to_json(const RunSpec &spec);
/// The spec a checkpoint's config stores; amk::Error on a malformed one.
RunSpec spec_from_json(const nlohmann::json &j);

/// The options a resumed run may change (Option::Resume::resumable), as "--steps", ….
std::set<std::string> resumable_options();

/// The spec a `--resume` continues with: the checkpoint's, with every resumable option that
/// was given taken from `requested` (and its MPI layout). An option outside that set that
/// was given with a value other than the checkpoint's is refused with an amk::Error naming
/// it (never silently replaced). `given` holds the option names ("--lr") set on the command
/// line or in --config; without it every option counts as given.
RunSpec resumed_spec(const nlohmann::json &checkpoint, const RunSpec &requested,
                     const std::optional<std::set<std::string>> &given);
} // namespace amk::train
