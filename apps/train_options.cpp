// amk train's command line: its options, its --config file (TOML) and the checked
// configuration they give. Apart from the training itself (cmd_train.cpp), so that the
// fuzz harness of --config files (tests/fuzz) runs exactly this.
#include "commands.hpp"
#include <algorithm>
#include <amk/core/error.hpp>

namespace amk::app
{
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

TrainOptions add_train_options(CLI::App &app)
{
  auto *cmd = app.add_subcommand("train", "Train the action network on snapshot data (MPI data-parallel)");
  // read before parsing by amk.cpp (expand_config); declared here for --help
  cmd->add_option("--config", "TOML file of options (key = value, keys are option names without --); "
                              "the command line wins");
  TrainOptions o{cmd, std::make_shared<train::TrainConfig>(), std::make_shared<bool>(false),
                 std::make_shared<std::string>("silu"), std::make_shared<std::string>("scalar")};
  auto &c = o.parsed;
  auto &activation = o.activation;
  auto &head = o.head;
  auto &resume = o.resume;
  cmd->add_option("--data", c->data, "HDF5 snapshot file (see README: /times, /x, /offsets)");
  cmd->add_option("--path", c->path, "Train on a built-in path instead of --data: gaussian");
  cmd->add_option("--dim", c->network.dim, "Dimension of the built-in --path")->capture_default_str();
  cmd->add_option("--t0", c->path_t0, "Start time of the built-in --path")->capture_default_str();
  cmd->add_option("--t1", c->path_t1, "End time of the built-in --path")->capture_default_str();
  cmd->add_option("--out", c->out, "Output directory (checkpoint.h5, metrics.jsonl)")->required();
  cmd->add_option("--steps", c->steps, "Training steps")->capture_default_str();
  cmd->add_option("--batch", c->batch, "Interior samples per step (global)")->capture_default_str();
  cmd->add_option("--boundary-batch", c->boundary_batch, "Samples of q0 and of q1 per step (0: --batch)")
      ->capture_default_str();
  cmd->add_option("--width", c->network.width, "Hidden layer width")->capture_default_str();
  cmd->add_option("--depth", c->network.depth, "Hidden layers")->capture_default_str();
  cmd->add_option("--activation", *activation, "silu, tanh, softplus or gelu")->capture_default_str();
  cmd->add_option("--time-features", c->network.time_features, "Fourier time feature pairs")->capture_default_str();
  cmd->add_option("--head", *head, "scalar (s = net) or quadratic (s = |x - net|^2/2)")->capture_default_str();
  cmd->add_option("--lr", c->adam.lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--warmup", c->adam.warmup, "Linear warm-up steps")->capture_default_str();
  cmd->add_option("--clip", c->adam.clip, "Global gradient-norm clip (0: off)")->capture_default_str();
  cmd->add_option("--ema", c->adam.ema, "EMA decay of the weights")->capture_default_str();
  cmd->add_option("--beta1", c->adam.beta1, "Adam beta1")->capture_default_str();
  cmd->add_option("--beta2", c->adam.beta2, "Adam beta2")->capture_default_str();
  cmd->add_option("--loss", c->loss,
                  "am (plain AM: an ODE), eam (entropic AM: an SDE with diffusion --sigma) or uam (unbalanced AM: "
                  "mass created and destroyed, from the data's /mass or /snapshot_mass)")
      ->capture_default_str();
  cmd->add_option("--sigma", c->sigma,
                  "eam: sigma of dX = grad s dT + sigma dW in the data's units: one value (constant), two (linear "
                  "from the first to the last time) or one per snapshot")
      ->expected(1, -1);
  cmd->add_option("--laplacian", c->laplacian, "eam: exact (d sweeps), hutchinson (--probes), or auto (exact up to d = 16)")
      ->capture_default_str();
  cmd->add_option("--probes", c->probes, "eam with --laplacian hutchinson: random probes per sample")
      ->capture_default_str();
  cmd->add_option("--probe-dist", c->probe_dist, "hutchinson probes: rademacher or gaussian")->capture_default_str();
  cmd->add_option("--weight", c->weight, "time weighting: none or linear (w = 1 - t, as the reference code's option)")
      ->capture_default_str();
  cmd->add_option("--time", c->time,
                  "time in the loss: auto (coupled for --data, continuous for --path), coupled (minibatch-OT "
                  "path between adjacent snapshots), nearest (nearest snapshot), quadrature (at the snapshot "
                  "times, --rule), continuous (a built-in --path)")
      ->capture_default_str();
  cmd->add_option("--rule", c->rule, "quadrature rule: trapezoid, simpson or difference")->capture_default_str();
  cmd->add_option("--coupling", c->coupling,
                  "coupled paths: straight lines, or bridge (Brownian bridges of --sigma with the entropic OT "
                  "coupling; --loss eam)")
      ->capture_default_str();
  cmd->add_option("--coupling-batch", c->coupling_batch, "coupled: samples per minibatch-OT chunk")
      ->capture_default_str();
  cmd->add_option("--coupling-epsilon", c->coupling_epsilon,
                  "coupled: the auction's resolution relative to the mean transport cost (an assignment optimal within "
                  "N eps mean cost); a Brownian bridge's entropic plan sharper than it is taken as the assignment")
      ->capture_default_str();
  cmd->add_option("--time-sampling", c->time_sampling, "low-discrepancy, stratified or uniform")->capture_default_str();
  cmd->add_option("--dtype", c->dtype, "float or double")->capture_default_str();
  cmd->add_option("--engine", c->engine, "auto, gemm (library GEMMs) or fused (one team kernel; width <= 128)")
      ->capture_default_str();
  cmd->add_option("--seed", c->seed, "Random seed")->capture_default_str();
  cmd->add_option("--ranks-time", c->ranks_time,
                  "MPI ranks: time windows of the rank grid P = time x sample (0: the largest divisor of P up to the "
                  "snapshot intervals; see README)")
      ->capture_default_str();
  cmd->add_option("--log-every", c->log_every, "Steps between log lines")->capture_default_str();
  cmd->add_option("--checkpoint-every", c->checkpoint_every, "Steps between checkpoints")->capture_default_str();
  cmd->add_option("--on-nan", c->on_nan,
                  "a step with a NaN or Inf loss or gradient: stop (naming the step; the last checkpoint is kept) or "
                  "skip its batch (no update, counted; 100 in a row stop the run)")
      ->capture_default_str();
  cmd->add_flag(
      "--no-normalise", [c](std::int64_t) { c->normalise = false; }, "Do not centre and scale x");
  cmd->add_flag("--resume", *resume, "Continue from OUT/checkpoint.h5");
  return o;
}

train::TrainConfig TrainOptions::config(std::set<std::string> *given) const
{
  auto c = *parsed;
  c.network.activation = nn::parse_activation(*activation);
  c.network.head = nn::parse_head(*head);
  if (given)
    for (const CLI::Option *option : cmd->get_options())
      if (option->count() > 0)
        given->insert(option->get_name());
  return c;
}
} // namespace amk::app
