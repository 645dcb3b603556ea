// amk: learn stochastic dynamics from samples with Action Matching.
// A git-style dispatcher: `amk <command> [options]`; `amk <command> --help` for each.
#include "commands.hpp"
#include <Kokkos_Core.hpp>
#include <amk/config.hpp>
#include <amk/core/error.hpp>
#include <amk/dist/comm.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <map>

int main(int argc, char **argv)
{
  amk::dist::Environment mpi(argc, argv);
  CLI::App app{"amk " AMK_VERSION_STRING ": learn stochastic dynamics from samples with Action Matching", "amk"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("amk ") + AMK_VERSION_STRING);
  app.footer("Kokkos options (--kokkos-num-threads=N, --kokkos-device-id=I, …) are passed to Kokkos.");
  std::map<std::string, amk::app::Action> actions = {
      {"datagen", amk::app::add_datagen(app)}, {"train", amk::app::add_train(app)},
      {"sample", amk::app::add_sample(app)},   {"field", amk::app::add_field(app)},
      {"eval", amk::app::add_eval(app)},       {"bench", amk::app::add_bench(app)},
      {"info", amk::app::add_info(app)}};

  // Kokkos takes its own --kokkos-* options out of argv first.
  Kokkos::ScopeGuard kokkos(argc, argv);
  try
  {
    app.parse(argc, argv);
  }
  catch (const CLI::ParseError &e)
  {
    return app.exit(e);
  }
  const bool root = amk::dist::Comm::world().root();
  try
  {
    for (auto *sub : app.get_subcommands())
      return actions.at(sub->get_name())();
  }
  catch (const amk::Error &e)
  {
    if (root)
      std::fprintf(stderr, "amk: error: %s\n", e.what());
    return 1;
  }
  catch (const std::exception &e)
  {
    if (root)
      std::fprintf(stderr, "amk: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
