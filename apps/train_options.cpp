// amk train's command line: the option table's rows (option_table.hpp), --config files (TOML)
// and --resume. Apart from the training itself (cmd_train.cpp), so that the fuzz harness of
// --config files (tests/fuzz) runs exactly this.
#include "commands.hpp"
#include <algorithm>
#include <cstdlib>
#include <amk/core/error.hpp>

namespace amk::app
{
namespace
{
/// Whether the command line (after the subcommand) names --option itself.
bool on_command_line(const std::vector<std::string> &args, std::vector<std::string>::const_iterator from,
                     const std::string &option)
{
  return std::any_of(from, args.cend(), [&](const std::string &a)
                     { return a == option || a.rfind(option + "=", 0) == 0; });
}
/// Whether a word reads as a number (strtod, the whole word).
bool is_number(const std::string &word)
{
  char *end = nullptr;
  std::strtod(word.c_str(), &end);
  return end == word.c_str() + word.size();
}
} // namespace

std::vector<std::string> expand_config(std::vector<std::string> args)
{
  const auto sub = std::find(args.begin(), args.end(), "train");
  for (auto it = sub; it != args.end(); ++it)
  {
    std::string file;
    auto last = it + 1;
    if (*it == "--config" && it + 1 != args.end())
    {
      file = *(it + 1);
      last = it + 2;
    }
    else if (it->rfind("--config=", 0) == 0)
      file = it->substr(9);
    else
      continue;
    std::vector<CLI::ConfigItem> items;
    try
    {
      items = CLI::ConfigTOML().from_file(file);
    }
    catch (const CLI::Error &e)
    {
      throw amk::Error("--config " + file + ": " + e.what());
    }
    std::vector<std::string> expanded;
    for (const auto &item : items)
    {
      if (item.name == "++" || item.name == "--") // section markers
        continue;
      if (item.name == "help" || item.name == "config" || item.name == "version")
        throw amk::Error("--config " + file + ": '" + item.name + "' is not an option a file can set");
      const std::string option = "--" + item.name;
      if (on_command_line(args, sub, option)) // the command line wins (every value of a list option)
        continue;
      const bool flag = item.inputs.size() == 1 && (item.inputs[0] == "true" || item.inputs[0] == "false");
      if (flag && item.inputs[0] == "true")
        expanded.push_back(option);
      if (flag)
        continue;
      // a value the parser would take for an option ("-h": help) is refused; negative numbers are values
      for (const auto &value : item.inputs)
        if (!value.empty() && value[0] == '-' && !is_number(value))
          throw amk::Error("--config " + file + ": the value '" + value + "' of '" + item.name +
                           "' starts with '-': the command line would read it as an option");
      expanded.push_back(option);
      expanded.insert(expanded.end(), item.inputs.begin(), item.inputs.end());
    }
    const auto at = std::distance(args.begin(), sub) + 1;
    args.erase(it, last);
    args.insert(args.begin() + at, expanded.begin(), expanded.end());
    break;
  }
  return args;
}

TrainOptions add_train_options(CLI::App &app)
{
  auto *cmd = app.add_subcommand("train", "Train the action network on snapshot data (MPI data-parallel)");
  // read before parsing by amk.cpp (expand_config); declared here for --help
  cmd->add_option("--config", "TOML file of options (key = value, keys are option names without --); "
                              "the command line wins");
  TrainOptions o{cmd, std::make_shared<OptionWords>(cmd), std::make_shared<bool>(false)};
  cmd->add_flag("--resume", *o.resume, "Continue from OUT/checkpoint.h5");
  return o;
}

train::RunSpec TrainOptions::spec(std::set<std::string> *given) const { return words->spec(train::RunSpec(), given); }
} // namespace amk::app
