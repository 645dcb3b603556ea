// amk: learn stochastic dynamics from samples with Action Matching.
// A git-style dispatcher: `amk <command> [options]`; `amk <command> --help` for each.
#include "commands.hpp"
#include <Kokkos_Core.hpp>
#include <algorithm>
#include <amk/config.hpp>
#include <amk/core/error.hpp>
#include <amk/dist/comm.hpp>
#include <amk/io/hdf5.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace
{
/// `amk train --config FILE.toml …`: the file's `key = value` lines become `--key value`
/// options placed before the command line's own, which therefore win (every option takes
/// its last occurrence). CLI11 2.1 reads config files for the top-level app only, so the
/// file is expanded here, with CLI11's own TOML reader.
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
      const bool flag = item.inputs.size() == 1 && (item.inputs[0] == "true" || item.inputs[0] == "false");
      if (flag && item.inputs[0] == "true")
        expanded.push_back("--" + item.name);
      if (flag)
        continue;
      expanded.push_back("--" + item.name);
      expanded.insert(expanded.end(), item.inputs.begin(), item.inputs.end());
    }
    const auto at = std::distance(args.begin(), sub) + 1;
    args.erase(it, last);
    args.insert(args.begin() + at, expanded.begin(), expanded.end());
    break;
  }
  return args;
}
/// After HDF5 failed to close a file, its clean-up at exit would crash (io/hdf5.hpp): end
/// with the error's exit status without it.
void exit_if_hdf5_unusable()
{
  if (!amk::io::hdf5_unusable())
    return;
  std::fflush(stderr);
  std::_Exit(1);
}
} // namespace

int main(int argc, char **argv)
{
  // A file-size limit (ulimit -f, a quota) makes write() fail with EFBIG instead of killing
  // the process silently: amk then reports the failed write, as for a full disk, and the
  // previous checkpoint or output stays as it was.
  std::signal(SIGXFSZ, SIG_IGN);
  amk::dist::Environment mpi(argc, argv);
  // --kokkos-* options go to Kokkos, the rest to the command line (Kokkos 3.4 would also
  // act on a bare --help or --threads)
  std::vector<char *> kokkos_argv{argv[0]};
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i)
  {
    if (std::string(argv[i]).rfind("--kokkos-", 0) == 0)
      kokkos_argv.push_back(argv[i]);
    else
      args.emplace_back(argv[i]);
  }
  int kokkos_argc = int(kokkos_argv.size());
  char **kokkos_args = kokkos_argv.data();
  Kokkos::ScopeGuard kokkos(kokkos_argc, kokkos_args);

  CLI::App app{"amk " AMK_VERSION_STRING ": learn stochastic dynamics from samples with Action Matching", "amk"};
  app.require_subcommand(1);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", std::string("amk ") + AMK_VERSION_STRING);
  app.footer("Kokkos options (--kokkos-num-threads=N, --kokkos-device-id=I, ...) are passed to Kokkos.");
  std::map<std::string, amk::app::Action> actions = {
      {"datagen", amk::app::add_datagen(app)}, {"train", amk::app::add_train(app)},
      {"sample", amk::app::add_sample(app)},   {"field", amk::app::add_field(app)},
      {"eval", amk::app::add_eval(app)},       {"bench", amk::app::add_bench(app)},
      {"info", amk::app::add_info(app)}};
  const auto world = amk::dist::Comm::world();
  const bool root = world.root();
  try
  {
    args = expand_config(args);
    std::reverse(args.begin(), args.end()); // CLI11 takes a vector in reverse order
    try
    {
      app.parse(args);
    }
    catch (const CLI::ParseError &e)
    {
      return root ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 1);
    }
    for (auto *sub : app.get_subcommands())
      return actions.at(sub->get_name())();
  }
  catch (const amk::CollectiveError &e) // thrown by every rank alike: a clean exit, one message
  {
    if (world.rank() == e.reporting_rank())
      std::fprintf(stderr, "amk: error: %s\n", e.what());
    exit_if_hdf5_unusable();
    return 1;
  }
  catch (const std::exception &e)
  {
    // possibly thrown on some ranks only: the others must not be left in a collective, and
    // the message is this rank's (MPI_Abort ends the others before they could say more)
    std::fprintf(stderr, "amk: error: %s\n", e.what());
    if (world.size() == 1)
      exit_if_hdf5_unusable();
    if (world.size() > 1)
    {
      std::fflush(stderr);
      world.abort(1);
    }
    return 1;
  }
  return 0;
}
