// amk bench: times full training steps (batch, forward, double backprop, Adam) on the
// built-in Gaussian path and prints one JSON line with the fields of
// shared/perf-ref/torch_am.py, plus the achieved GFLOP/s of the matrix products.
#include "blas_threads.hpp"
#include "commands.hpp"
#include <amk/core/json.hpp>
#include <algorithm>
#include <amk/dist/comm.hpp>
#include <amk/perf/flop_model.hpp>
#include <amk/train/trainer.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

namespace amk::app
{
namespace
{
struct BenchOptions
{
  train::TrainConfig config;
  std::string activation = "silu";
  int steps = 20, warmup = 3;
  std::string draw = "each"; ///< each: a new batch every step; once: one batch, reused
};

template <class Scalar> nlohmann::json bench(const BenchOptions &o)
{
  train::TrainConfig c = o.config;
  c.path = "gaussian";
  c.out = "(bench)";
  c.network.activation = nn::parse_activation(o.activation);
  c.adam.lr = 1e-4;
  c.validate();
  const DefaultExec space;
  const auto comm = dist::Comm::world();
  // the GEMM ceiling of this shape (perf/flop_model.hpp), measured by every rank at once on
  // its share of the batch and summed: the machine's, as the step's figures are
  double ceiling = perf::gemm_rate<Scalar>(c.network.width, std::max(1, 3 * c.batch / comm.size()));
  comm.sum(&ceiling, 1);
  auto source = std::make_shared<data::GaussianSource<Scalar>>(space, data::GaussianPath::preset(c.network.dim));
  train::Trainer<Scalar> trainer(space, c, source, comm);
  trainer.choose_engine();
  const bool each = o.draw == "each";
  trainer.step(); // the first batch
  for (int i = 0; i < o.warmup; ++i)
    trainer.step(each);
  std::vector<double> times;
  for (int i = 0; i < o.steps; ++i)
  {
    space.fence();
    const auto t0 = std::chrono::steady_clock::now();
    trainer.step(each);
    space.fence();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  // the batch is global and every step ends in a sum over ranks: the ranks' medians agree
  // to the wait; report their mean (and the global rates of the global batch)
  double stats[2] = {times[times.size() / 2], times.front()};
  comm.sum(stats, 2);
  const double median = stats[0] / comm.size(), fastest = stats[1] / comm.size();
  const double flops = perf::step_flops(c, trainer.objective().directions(c.network.dim));
  return {{"impl", std::string("amk-kokkos-") + DefaultExec::name()},
          {"dim", c.network.dim},
          {"width", c.network.width},
          {"depth", c.network.depth},
          {"batch", c.batch},
          {"dtype", c.dtype},
          {"loss", c.loss},
          {"directions", trainer.objective().directions(c.network.dim)},
          {"engine", trainer.engine_name()},
          {"engine_times_s", trainer.engine_timing() ? nlohmann::json{{"gemm", trainer.engine_timing()->gemm_s},
                                                                      {"fused", trainer.engine_timing()->fused_s},
                                                                      {"cached", trainer.engine_timing()->cached}}
                                                     : nlohmann::json()},
          {"draw", o.draw},
          {"ranks", comm.size()},
          {"threads", DefaultExec::concurrency()},
          {"blas_threads", blas_threads()},
          {"median_step_s", median},
          {"min_step_s", fastest},
          {"samples_per_s", c.batch / median},
          {"gflops", flops / median * 1e-9},
          {"gemm_gflops", ceiling * 1e-9},
          {"of_gemm", flops / median / ceiling}};
}
} // namespace

Action add_bench(CLI::App &app)
{
  auto *cmd = app.add_subcommand("bench", "Time full training steps on synthetic data (JSON line on stdout)");
  auto o = std::make_shared<BenchOptions>();
  o->config.network.width = 256;
  o->config.batch = 1024;
  cmd->add_option("--dim", o->config.network.dim, "Space dimension d")->capture_default_str();
  cmd->add_option("--width", o->config.network.width, "Hidden layer width")->capture_default_str();
  cmd->add_option("--depth", o->config.network.depth, "Hidden layers")->capture_default_str();
  cmd->add_option("--batch", o->config.batch, "Interior samples per step")->capture_default_str();
  cmd->add_option("--steps", o->steps, "Timed steps")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed steps first")->capture_default_str();
  cmd->add_option("--activation", o->activation, "silu, tanh, softplus or gelu")->capture_default_str();
  cmd->add_option("--dtype", o->config.dtype, "float or double")->capture_default_str();
  cmd->add_option("--engine", o->config.engine, "auto, gemm or fused")->capture_default_str();
  cmd->add_option("--loss", o->config.loss, "am, eam (with --sigma) or uam (unit masses on the built-in path)")
      ->capture_default_str();
  cmd->add_option("--sigma", o->config.sigma, "eam: sigma (one value)");
  cmd->add_option("--laplacian", o->config.laplacian, "eam: exact, hutchinson or auto")->capture_default_str();
  cmd->add_option("--probes", o->config.probes, "eam, hutchinson: probes per sample")->capture_default_str();
  cmd->add_option("--draw", o->draw, "each: time a new batch draw every step; once: one batch reused (as torch_am.py)")
      ->check(CLI::IsMember({"each", "once"}))
      ->capture_default_str();
  return [o]()
  {
    require(o->steps >= 1 && o->warmup >= 0, "bench: --steps must be at least 1 and --warmup non-negative");
    const auto result = o->config.dtype == "double" ? bench<double>(*o) : bench<float>(*o);
    if (dist::Comm::world().root())
      std::cout << to_text(result) << std::endl;
    return 0;
  };
}
} // namespace amk::app
