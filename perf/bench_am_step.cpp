// The AM training step and its sweeps, next to the GEMM ceiling measured in the same run.
//   BM_gemm_ceiling/width:W/batch:B      KokkosBlas::gemm of one (W×W)·(W×3B) product
//   BM_forward, BM_input_gradient, BM_parameter_gradient   the engine's sweeps one by one
//   BM_sweeps/width:W/batch:B            forward + input gradient + loss + parameter gradient
//   BM_train_step/width:W/batch:B        a full step: batch, sweeps, loss, Adam
//   BM_step_matrix<float|double>/width/batch/dim/depth   the full step over the perf matrix
//                                        (widths 64…1024, batches 256…4096, d = 2, 50, 784,
//                                        depths 2, 3, 6), with `of_gemm`: the fraction of
//                                        the GEMM rate measured for that shape in the same run
// Counters: FLOPS (matrix-product FLOPs of DESIGN.md §2 per second) and samples/s.
//   ./build/perf/amk_bench_step --benchmark_filter='step_matrix<float>/width:256'
#include <algorithm>
#include <amk/train/trainer.hpp>
#include <benchmark/benchmark.h>
#include <chrono>
#include <type_traits>

namespace
{
using namespace amk;
using Exec = DefaultExec;
using Scalar = float;

train::TrainConfig config(int width, int batch, int dim = 2, int depth = 3)
{
  train::TrainConfig c;
  c.path = "gaussian";
  c.out = "(bench)";
  c.network.dim = dim;
  c.network.width = width;
  c.network.depth = depth;
  c.batch = batch;
  c.adam.lr = 1e-4;
  return c;
}

double step_flops(const train::TrainConfig &c)
{
  return 2.0 * double(c.network.forward_macs()) * (6.0 * c.batch + 3.0 * 2 * c.boundary());
}

template <class F, class Prep = void (*)()>
void timed(
    benchmark::State &state, F &&f, Prep &&prep = [] {})
{
  const Exec space;
  for (auto _ : state)
  {
    prep(); // untimed
    space.fence();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    space.fence();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
}

void BM_gemm_ceiling(benchmark::State &state)
{
  const int W = int(state.range(0)), B = int(state.range(1));
  Matrix<Scalar, Exec> A("A", W, W), X("X", W, 3 * B), C("C", W, 3 * B);
  Kokkos::deep_copy(A, 0.01f);
  Kokkos::deep_copy(X, 0.02f);
  timed(state, [&] { gemm(Exec(), "N", "N", 1.0f, A, X, 0.0f, C); });
  state.counters["FLOPS"] = benchmark::Counter(2.0 * W * W * 3.0 * B, benchmark::Counter::kIsIterationInvariantRate);
}

/// An engine loaded with one batch, its seeds written, ready for any sweep.
struct Loaded
{
  train::TrainConfig c;
  std::shared_ptr<data::GaussianSource<Scalar, Exec>> source;
  am::BatchBuilder<Scalar, Exec> builder;
  nn::GemmEngine<Scalar, Exec> engine;
  Vector<Scalar, Exec> params, grad;
  explicit Loaded(const benchmark::State &state)
      : c(config(int(state.range(0)), int(state.range(1)))),
        source(std::make_shared<data::GaussianSource<Scalar, Exec>>(Exec(), data::GaussianPath::preset(2))),
        builder(Exec(), c.batch, c.boundary(), 0, 1, am::TimeSampling::low_discrepancy, 0),
        engine(Exec(), c.network, builder.layout().interior, builder.layout().primal()),
        params("params", c.network.param_count()), grad("grad", c.network.param_count())
  {
    nn::initialize(Exec(), c.network, params, 0);
    builder.build(Exec(), *source, engine, 0);
    engine.forward(Exec(), params);
    engine.input_gradient(Exec(), params);
    am::plain_seeds(Exec(), engine, builder.times(), builder.layout());
  }
  /// FLOPs of `per_interior` and `per_boundary` forward-equivalents per sample
  double flops(double per_interior, double per_boundary) const
  {
    return 2.0 * double(c.network.forward_macs()) * (per_interior * c.batch + per_boundary * 2 * c.boundary());
  }
};

void BM_forward(benchmark::State &state)
{
  Loaded l(state);
  timed(state, [&] { l.engine.forward(Exec(), l.params); });
  state.counters["FLOPS"] = benchmark::Counter(l.flops(1, 1), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_input_gradient(benchmark::State &state)
{
  Loaded l(state);
  timed(state, [&] { l.engine.input_gradient(Exec(), l.params); });
  state.counters["FLOPS"] = benchmark::Counter(l.flops(1, 0), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_parameter_gradient(benchmark::State &state)
{
  // tangent sweep (1 per interior sample) + reverse sweep (h̄: 1; dW: 2 per interior and
  // 1 per boundary sample). It turns G into q in place, so the input gradient is redone
  // (untimed) before each repetition: no drift into denormals.
  Loaded l(state);
  timed(
      state, [&] { l.engine.parameter_gradient(Exec(), l.params, l.grad); },
      [&] { l.engine.input_gradient(Exec(), l.params); });
  state.counters["FLOPS"] = benchmark::Counter(l.flops(4, 2), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_sweeps(benchmark::State &state)
{
  Loaded l(state);
  timed(state,
        [&]
        {
          l.engine.forward(Exec(), l.params);
          l.engine.input_gradient(Exec(), l.params);
          am::plain_seeds(Exec(), l.engine, l.builder.times(), l.builder.layout());
          l.engine.parameter_gradient(Exec(), l.params, l.grad);
        });
  state.counters["FLOPS"] = benchmark::Counter(l.flops(6, 3), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_train_step(benchmark::State &state)
{
  const auto c = config(int(state.range(0)), int(state.range(1)));
  auto source = std::make_shared<data::GaussianSource<Scalar, Exec>>(Exec(), data::GaussianPath::preset(2));
  train::Trainer<Scalar, Exec> trainer(Exec(), c, source, dist::Comm::self());
  timed(state, [&] { trainer.step(); });
  state.counters["FLOPS"] = benchmark::Counter(step_flops(c), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["samples/s"] = benchmark::Counter(c.batch, benchmark::Counter::kIsIterationInvariantRate);
}

/// Seconds of the best of 3 gemms C = A·X with A (W×W), X (W×3B): the in-run ceiling.
template <class T> double gemm_seconds(int W, int B)
{
  Matrix<T, Exec> A("A", W, W), X("X", W, 3 * B), C("C", W, 3 * B);
  Kokkos::deep_copy(A, T(0.01));
  Kokkos::deep_copy(X, T(0.02));
  double best = 1e30;
  for (int i = 0; i < 4; ++i) // the first is a warm-up
  {
    Exec().fence();
    const auto t0 = std::chrono::steady_clock::now();
    gemm(Exec(), "N", "N", T(1), A, X, T(0), C);
    Exec().fence();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i > 0)
      best = std::min(best, s);
  }
  return best;
}

template <class T> void BM_step_matrix(benchmark::State &state)
{
  auto c = config(int(state.range(0)), int(state.range(1)), int(state.range(2)), int(state.range(3)));
  c.dtype = std::is_same<T, double>::value ? "double" : "float";
  auto source = std::make_shared<data::GaussianSource<T, Exec>>(Exec(), data::GaussianPath::preset(c.network.dim));
  train::Trainer<T, Exec> trainer(Exec(), c, source, dist::Comm::self());
  trainer.step(); // warm-up
  double total = 0;
  std::int64_t steps = 0;
  timed(state,
        [&]
        {
          const auto t0 = std::chrono::steady_clock::now();
          trainer.step();
          total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          ++steps;
        });
  const double flops = step_flops(c);
  const double W = c.network.width, ceiling = 2.0 * W * W * 3.0 * c.batch / gemm_seconds<T>(c.network.width, c.batch);
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["samples/s"] = benchmark::Counter(c.batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["of_gemm"] = flops / (total / double(steps)) / ceiling;
}

void matrix(benchmark::internal::Benchmark *b)
{
  b->ArgNames({"width", "batch", "dim", "depth"});
  b->ArgsProduct({{64, 256, 1024}, {256, 1024, 4096}, {2, 50, 784}, {3}});
  for (int depth : {2, 6})
    b->Args({256, 1024, 2, depth});
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

void shapes(benchmark::internal::Benchmark *b)
{
  b->ArgNames({"width", "batch"});
  for (int w : {64, 256, 1024})
    b->Args({w, 1024});
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}
} // namespace

BENCHMARK(BM_gemm_ceiling)->Apply(shapes);
BENCHMARK(BM_forward)->Apply(shapes);
BENCHMARK(BM_input_gradient)->Apply(shapes);
BENCHMARK(BM_parameter_gradient)->Apply(shapes);
BENCHMARK(BM_sweeps)->Apply(shapes);
BENCHMARK(BM_train_step)->Apply(shapes);
BENCHMARK_TEMPLATE(BM_step_matrix, float)->Apply(matrix);
BENCHMARK_TEMPLATE(BM_step_matrix, double)->Apply(matrix);

int main(int argc, char **argv)
{
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
