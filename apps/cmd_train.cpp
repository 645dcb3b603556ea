// amk train: learn the action s(x,t) from a snapshot file (runs under mpirun).
#include "commands.hpp"
#include <amk/dist/comm.hpp>
#include <amk/train/trainer.hpp>

namespace amk::app
{
Action add_train(CLI::App &app)
{
  auto options = add_train_options(app);
  return [options]()
  {
    std::set<std::string> given; // on the command line or in --config (expanded into it)
    const auto config = options.config(&given);
    train::run_training(config, dist::Comm::world(), *options.resume, false, given);
    return 0;
  };
}
} // namespace amk::app
