// amk bench: times full training steps (batch, forward, double backprop, Adam) on the
// built-in Gaussian path and prints one JSON line with the fields of perf/torch_am.py, plus
// the achieved GFLOP/s of the matrix products and every engine's time where auto measured.
#include "threads_per_rank.hpp"
#include "choice_option.hpp"
#include "commands.hpp"
#include <algorithm>
#include <amk/examples/gaussian_source.hpp>
#include <amk/core/json.hpp>
#include <amk/dist/comm.hpp>
#include <amk/perf/flop_model.hpp>
#include <amk/perf/fma_peak.hpp>
#include <amk/train/trainer.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

namespace amk::app
{
namespace
{
/// Which batches the timed steps train on.
enum class Draw
{
  each, ///< a new batch every step (as training does)
  once  ///< one batch, reused (as torch_am.py times its step)
};
const std::vector<Named<Draw>> &choices(Draw)
{
  static const std::vector<Named<Draw>> table = {{Draw::each, "each"}, {Draw::once, "once"}};
  return table;
}

struct BenchOptions
{
  int steps = 20, warmup = 3;
  Draw draw = Draw::each;
};

template <class Scalar> nlohmann::json bench(const train::RunSpec &spec, const BenchOptions &o)
{
  train::RunSpec c = spec;
  c.path = train::BuiltinPath::gaussian;
  c.out = "(bench)";
  c.adam.lr = 1e-4;
  train::validate(c);
  const DefaultExec space;
  const auto comm = dist::Comm::world();
  // the GEMM ceiling of this shape (perf/flop_model.hpp), measured by every rank at once on
  // its share of the batch and summed: the machine's, as the step's figures are
  double ceiling = perf::gemm_rate<Scalar>(c.network.width, std::max(1, 3 * c.batch / comm.size()));
  comm.sum(&ceiling, 1);
  // the physical limit on a host back end: every core the step runs on (Kokkos' threads or the
  // BLAS's, whichever are more) doing register-only FMAs, summed over ranks like the ceiling
  nlohmann::json fma_peak = nullptr;
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, DefaultExec::memory_space>::accessible)
  {
    double peak = perf::fma_peak<Scalar>(std::max(int(DefaultExec::concurrency()), blas_threads()));
    comm.sum(&peak, 1);
    fma_peak = peak;
  }
  auto source = std::make_shared<examples::GaussianSource<Scalar>>(space, examples::GaussianPath::preset(c.network.dim));
  train::Trainer<Scalar> trainer(space, c, source, comm);
  trainer.choose_engine();
  const bool each = o.draw == Draw::each;
  const double first_loss = trainer.step().total(); // the first batch, at the initial weights
  for (int i = 0; i < o.warmup; ++i)
    trainer.step(each);
  std::vector<double> times;
  double last_loss = 0;
  for (int i = 0; i < o.steps; ++i)
  {
    space.fence();
    const auto t0 = std::chrono::steady_clock::now();
    last_loss = trainer.step(each).total();
    space.fence();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  // the batch is global and every step ends in a sum over ranks: the ranks' medians agree
  // to the wait; report their mean (and the global rates of the global batch)
  double stats[2] = {times[times.size() / 2], times.front()};
  comm.sum(stats, 2);
  const double median = stats[0] / comm.size(), fastest = stats[1] / comm.size();
  const int directions = trainer.objective().directions(c.network.dim);
  const double flops = perf::step_flops(c.network, c.batch, c.boundary(), directions);
  nlohmann::json engine_times;
  if (const auto &timing = trainer.engine_timing())
  {
    for (const auto &[id, seconds] : timing->seconds)
      engine_times[name_of(id)] = seconds;
    engine_times["cached"] = timing->cached;
  }
  return {{"impl", std::string("amk-kokkos-") + DefaultExec::name()},
          {"dim", c.network.dim},
          {"width", c.network.width},
          {"depth", c.network.depth},
          {"activation", name_of(c.network.activation)},
          {"batch", c.batch},
          {"dtype", name_of(c.dtype)},
          {"loss", name_of(c.loss)},
          {"directions", directions},
          {"parameters", c.network.param_count()},
          {"engine", trainer.engine_name()},
          {"engine_times_s", engine_times},
          {"draw", name_of(o.draw)},
          {"ranks", comm.size()},
          {"threads", DefaultExec::concurrency()},
          {"blas_threads", blas_threads()},
          {"blas_threading", blas_threading()},
          {"first_loss", first_loss},
          {"last_loss", last_loss},
          {"median_step_s", median},
          {"min_step_s", fastest},
          {"samples_per_s", c.batch / median},
          {"flops_per_step", flops},
          {"gflops", flops / median * 1e-9},
          {"gemm_gflops", ceiling * 1e-9},
          {"of_gemm", flops / median / ceiling},
          {"fma_peak_gflops", fma_peak.is_null() ? fma_peak : nlohmann::json(fma_peak.get<double>() * 1e-9)},
          {"of_fma_peak", fma_peak.is_null() ? fma_peak : nlohmann::json(flops / median / fma_peak.get<double>())},
          {"gemm_of_fma_peak", fma_peak.is_null() ? fma_peak : nlohmann::json(ceiling / fma_peak.get<double>())}};
}
} // namespace

Action add_bench(CLI::App &app)
{
  auto *cmd = app.add_subcommand("bench", "Time full training steps on synthetic data (JSON line on stdout)");
  auto o = std::make_shared<BenchOptions>();
  // the network, batch, precision, engine and loss: amk train's rows of the option table
  auto words = std::make_shared<OptionWords>(cmd, std::vector<std::string>{"dim", "width", "depth", "activation",
                                                                           "batch", "dtype", "engine", "loss",
                                                                           "sigma", "laplacian", "probes"});
  cmd->add_option("--steps", o->steps, "Timed steps")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed steps first")->capture_default_str();
  add_choice(cmd, "--draw", o->draw, "each: time a new batch draw every step; once: one batch reused (as torch_am.py)");
  return [o, words]()
  {
    require(o->steps >= 1 && o->warmup >= 0, "bench: --steps must be at least 1 and --warmup non-negative");
    train::RunSpec spec;
    std::set<std::string> given;
    dist::collectively(dist::Comm::world(),
                       [&]
                       {
                         spec = words->spec(spec, &given);
                         spec.path = train::BuiltinPath::gaussian;
                         spec.out = "(bench)";
                         train::validate(spec, &given);
                       });
    const auto result = spec.dtype == train::Precision::float64 ? bench<double>(spec, *o) : bench<float>(spec, *o);
    if (dist::Comm::world().root())
      std::cout << to_text(result) << std::endl;
    return 0;
  };
}
} // namespace amk::app
