// amk train: learn the action s(x,t) from a snapshot file (runs under mpirun).
#include "commands.hpp"
#include <amk/dist/comm.hpp>
#include <amk/train/run.hpp>

namespace amk::app
{
Action add_train(CLI::App &app)
{
  auto options = add_train_options(app);
  return [options]()
  {
    const auto comm = dist::Comm::world();
    std::set<std::string> given; // on the command line or in --config (expanded into it)
    train::RunSpec spec;
    dist::collectively(comm, [&] { spec = options.spec(&given); }); // every rank fails alike: one message
    train::run_training(spec, comm, *options.resume, false, given);
    return 0;
  };
}
} // namespace amk::app
