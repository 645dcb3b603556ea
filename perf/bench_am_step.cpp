// The AM training step and its kernels, next to the GEMM ceiling measured in the same run.
//   BM_gemm_ceiling/width:W/batch:B      KokkosBlas::gemm of one (W×W)·(W×3B) product
//   BM_forward, BM_input_gradient, BM_parameter_gradient   the GEMM engine's sweeps one by one
//   BM_tangent_sweep, BM_reverse_sweep   the parameter gradient's two halves
//   BM_elementwise_forward/width:W/batch:B   the forward sweep's fused elementwise kernel
//   BM_loss_seeds/width:W/batch:B        the plain loss' seed kernels and their reduction
//   BM_sweeps/width:W/batch:B            forward + input gradient + loss + parameter gradient
//   BM_fused_gradient/width:W/batch:B    the same on the fused engine (one team kernel)
//   BM_adam/params:N                     Adam + EMA over N parameters (norm and update)
//   BM_train_step/width:W/batch:B        a full step: batch, sweeps, loss, Adam
//   BM_step_matrix<float|double>/width/batch/dim/depth   the step on one batch (engine chosen as
//                                        `amk train` chooses it) over the perf matrix: widths
//                                        64…1024, batches 256…16384, d = 2, 3, 50, 784,
//                                        depths 2, 3, 6; `of_gemm` is the fraction of the
//                                        GEMM rate measured for that shape in the same run
// Counters: FLOPS (matrix-product FLOPs of DESIGN.md §2 per second), samples/s, and
// bytes/s: each kernel's operands read once and its results written once from memory
// (the compulsory traffic with no cache reuse between kernels; see gemm_engine_bytes).
//   ./build/perf/amk_bench_step --benchmark_filter='step_matrix<float>/width:256'
#include <algorithm>
#include <amk/examples/gaussian_source.hpp>
#include <amk/perf/flop_model.hpp>
#include <amk/train/trainer.hpp>
#include <benchmark/benchmark.h>
#include <chrono>
#include <type_traits>

namespace
{
using namespace amk;
using Exec = DefaultExec;
using Scalar = float;

train::RunSpec config(int width, int batch, int dim = 2, int depth = 3)
{
  train::RunSpec c;
  c.path = train::BuiltinPath::gaussian;
  c.out = "(bench)";
  c.network.dim = dim;
  c.network.width = width;
  c.network.depth = depth;
  c.batch = batch;
  c.adam.lr = 1e-4;
  return c;
}

/// Memory traffic model of the GEMM engine's sweeps for one step (bytes): every GEMM reads
/// A and B and writes C once, every elementwise kernel reads its inputs and writes its
/// outputs once (nt interior and np = nt + 2·boundary columns, node sizes n_j).
double gemm_engine_bytes(const nn::MlpShape &s, double nt, double np, double scalar)
{
  const int L = s.depth;
  auto n = [&](int j) { return double(s.node_size(j)); };
  double e = 0;
  for (int k = 0; k <= L; ++k) // forward: z = W h, then z, h, σ', σ''
    e += n(k + 1) * n(k) + n(k) * np + n(k + 1) * np + (k < L ? n(k + 1) * (3 * np + nt) : 2 * n(k + 1) * np);
  for (int j = L + 1; j >= 1; --j) // input gradient: ḡ = Wᵀ δ, δ = ḡ ⊙ σ'
    e += n(j) * n(j - 1) + n(j) * nt + n(j - 1) * nt + (j > 1 ? 3 * n(j - 1) * nt : 0);
  for (int j = 1; j <= L; ++j) // tangent: ż = W ḣ, then ḣ and q from ż, σ', σ'', ḡ
    e += n(j) * n(j - 1) + n(j - 1) * nt + n(j) * nt + 6 * n(j) * nt;
  for (int j = L + 1; j >= 1; --j) // reverse: dW, db, h̄ = Wᵀ z̄, z̄ = h̄ ⊙ σ' + q
  {
    e += n(j) * (nt + np) + n(j - 1) * (nt + np) + n(j) * n(j - 1) + n(j) * np;
    if (j > 1)
      e += n(j) * n(j - 1) + n(j) * np + n(j - 1) * np + n(j - 1) * (3 * np + nt);
  }
  return e * scalar;
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

using Loss = am::ActionLoss<Scalar, Exec>;

/// A GEMM engine loaded with one batch of plain AM, its seeds written, ready for any sweep.
struct Loaded
{
  train::RunSpec c;
  std::shared_ptr<examples::GaussianSource<Scalar, Exec>> source;
  am::BatchBuilder<Scalar, Exec> builder;
  nn::GemmEngine<Scalar, Exec, Loss> engine;
  Vector<Scalar, Exec> params, grad;
  explicit Loaded(const benchmark::State &state)
      : c(config(int(state.range(0)), int(state.range(1)))),
        source(std::make_shared<examples::GaussianSource<Scalar, Exec>>(Exec(), examples::GaussianPath::preset(2))),
        builder(Exec(), c.network, am::Objective(), c.batch, c.boundary(), 0, 1, am::TimeSampling::low_discrepancy,
                0),
        engine(Exec(), c.network, builder.capacity(c.network.dim)), params("params", c.network.param_count()),
        grad("grad", c.network.param_count())
  {
    nn::initialize(Exec(), c.network, params, 0);
    builder.build(Exec(), *source, engine, 0);
    engine.forward(Exec(), params);
    engine.input_gradient(Exec(), params);
    engine.seeds(Exec(), builder.loss());
  }
  /// FLOPs of `per_interior` and `per_boundary` forward-equivalents per sample
  double flops(double per_interior, double per_boundary) const
  {
    return perf::forward_equivalent_flops(c.network, c.batch, c.boundary(), per_interior, per_boundary);
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
      state,
      [&]
      {
        l.engine.tangent_sweep(Exec(), l.params);
        l.engine.reverse_sweep(Exec(), l.params, l.grad);
      },
      [&] { l.engine.input_gradient(Exec(), l.params); });
  state.counters["FLOPS"] = benchmark::Counter(l.flops(4, 2), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_tangent_sweep(benchmark::State &state)
{
  // it turns ḡ into q in place: the input gradient is redone (untimed) before each repetition
  Loaded l(state);
  timed(
      state, [&] { l.engine.tangent_sweep(Exec(), l.params); }, [&] { l.engine.input_gradient(Exec(), l.params); });
  state.counters["FLOPS"] = benchmark::Counter(l.flops(1, 0), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_reverse_sweep(benchmark::State &state)
{
  Loaded l(state);
  l.engine.tangent_sweep(Exec(), l.params);
  timed(state, [&] { l.engine.reverse_sweep(Exec(), l.params, l.grad); });
  state.counters["FLOPS"] = benchmark::Counter(l.flops(3, 2), benchmark::Counter::kIsIterationInvariantRate);
}

/// The forward sweep's fused elementwise kernel alone (z + b → σ, σ', σ'') on one
/// (W × 3B) block, B columns of them interior: memory-bound, so bytes/s is its figure.
void BM_elementwise_forward(benchmark::State &state)
{
  const int W = int(state.range(0)), B = int(state.range(1));
  Matrix<Scalar, Exec> z("z", W, 3 * B), h("h", W, 3 * B), s2("s2", W, B);
  Vector<Scalar, Exec> b("b", W);
  timed(
      state, [&] { impl::forward_hidden<nn::SiLU>(Exec(), B, z, s2, decltype(s2)(), h, b); },
      [&] { Kokkos::deep_copy(z, Scalar(0.3)); }); // it overwrites z with σ'(z)
  // reads z and b; writes h and σ' (all columns) and σ'' (interior columns)
  state.counters["bytes"] = benchmark::Counter((3.0 * W * 3 * B + double(W) * B) * sizeof(Scalar),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

void BM_loss_seeds(benchmark::State &state)
{
  Loaded l(state);
  timed(state, [&] { l.engine.seeds(Exec(), l.builder.loss()); });
  const double in = l.c.network.input_size(), nt = l.c.batch, np = l.builder.layout().primal();
  state.counters["bytes"] =
      benchmark::Counter((2 * in * nt + 2 * np + nt) * sizeof(Scalar), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_fused_gradient(benchmark::State &state)
{
  Loaded l(state);
  const auto &layout = l.builder.layout();
  nn::FusedEngine<Scalar, Exec, Loss> fused(Exec(), l.c.network, l.builder.capacity(l.c.network.dim));
  fused.set_batch(layout.interior, layout.primal());
  Kokkos::deep_copy(fused.input(), l.engine.input());
  timed(state, [&] { fused.gradient(Exec(), l.params, l.builder.loss(), l.grad); });
  state.counters["FLOPS"] = benchmark::Counter(l.flops(6, 3), benchmark::Counter::kIsIterationInvariantRate);
  // global memory: the inputs, the weights and one gradient per slot (the rest stays in scratch)
  const double P = double(l.c.network.param_count());
  state.counters["bytes"] = benchmark::Counter(
      (double(l.c.network.input_size()) * layout.primal() + P * (1 + 2 * fused.slots())) * sizeof(Scalar),
      benchmark::Counter::kIsIterationInvariantRate);
  state.counters["slots"] = fused.slots();
}

void BM_adam(benchmark::State &state)
{
  const std::int64_t n = state.range(0);
  Vector<Scalar, Exec> params("params", n), grad("grad", n);
  Kokkos::deep_copy(params, 0.5f);
  Kokkos::deep_copy(grad, 1e-3f);
  optim::AdamState<Scalar, Exec> adam(Exec(), n);
  optim::AdamOptions options;
  timed(state, [&] { optim::adam_step(Exec(), options, adam, params, grad); });
  // norm: read grad; update: read params, grad, m, v, ema and write params, m, v, ema
  state.counters["bytes"] =
      benchmark::Counter(10.0 * double(n) * double(sizeof(Scalar)), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_sweeps(benchmark::State &state)
{
  Loaded l(state);
  timed(state,
        [&]
        {
          l.engine.gradient(Exec(), l.params, l.builder.loss(), l.grad);
        });
  state.counters["FLOPS"] = benchmark::Counter(l.flops(6, 3), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes"] =
      benchmark::Counter(gemm_engine_bytes(l.c.network, l.c.batch, l.builder.layout().primal(), sizeof(Scalar)),
                         benchmark::Counter::kIsIterationInvariantRate);
}

void BM_train_step(benchmark::State &state)
{
  const auto c = config(int(state.range(0)), int(state.range(1)));
  auto source = std::make_shared<examples::GaussianSource<Scalar, Exec>>(Exec(), examples::GaussianPath::preset(2));
  train::Trainer<Scalar, Exec> trainer(Exec(), c, source, dist::Comm::self());
  timed(state, [&] { trainer.step(); });
  state.counters["FLOPS"] = benchmark::Counter(perf::step_flops(c.network, c.batch, c.boundary()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["samples/s"] = benchmark::Counter(c.batch, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T> void BM_step_matrix(benchmark::State &state)
{
  auto c = config(int(state.range(0)), int(state.range(1)), int(state.range(2)), int(state.range(3)));
  c.dtype = std::is_same<T, double>::value ? train::Precision::float64 : train::Precision::float32;
  auto source = std::make_shared<examples::GaussianSource<T, Exec>>(Exec(), examples::GaussianPath::preset(c.network.dim));
  train::Trainer<T, Exec> trainer(Exec(), c, source, dist::Comm::self());
  trainer.choose_engine(); // as amk train chooses it
  trainer.step(); // warm-up, and the batch every timed step reuses (as torch_am.py does)
  double total = 0;
  std::int64_t steps = 0;
  timed(state,
        [&]
        {
          const auto t0 = std::chrono::steady_clock::now();
          trainer.step(false);
          total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          ++steps;
        });
  const double flops = perf::step_flops(c.network, c.batch, c.boundary());
  const double ceiling = perf::gemm_rate<T>(c.network.width, 3 * c.batch);
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["samples/s"] = benchmark::Counter(c.batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["of_gemm"] = flops / (total / double(steps)) / ceiling;
  state.counters["engine"] = trainer.engine().index; // its position in nn::Engines (0: gemm, 1: fused)
}

void matrix(benchmark::internal::Benchmark *b)
{
  b->ArgNames({"width", "batch", "dim", "depth"});
  b->ArgsProduct({{64, 256, 512, 1024}, {256, 1024, 4096, 16384}, {2, 3, 50, 784}, {3}});
  for (int depth : {2, 6})
    for (int width : {64, 256})
      b->Args({width, 1024, 2, depth});
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

void shapes(benchmark::internal::Benchmark *b)
{
  b->ArgNames({"width", "batch"});
  for (int w : {64, 256, 1024})
    b->Args({w, 1024});
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

void narrow_shapes(benchmark::internal::Benchmark *b)
{
  b->ArgNames({"width", "batch"});
  b->ArgsProduct({{32, 64, 128}, {256, 1024, 4096}});
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

void parameter_counts(benchmark::internal::Benchmark *b)
{
  b->ArgNames({"params"});
  for (int w : {64, 256, 1024}) // the parameter counts of depth-3 networks on d = 2
  {
    nn::MlpShape s;
    s.width = w;
    b->Args({s.param_count()});
  }
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}
} // namespace

BENCHMARK(BM_gemm_ceiling)->Apply(shapes);
BENCHMARK(BM_forward)->Apply(shapes);
BENCHMARK(BM_input_gradient)->Apply(shapes);
BENCHMARK(BM_parameter_gradient)->Apply(shapes);
BENCHMARK(BM_tangent_sweep)->Apply(shapes);
BENCHMARK(BM_reverse_sweep)->Apply(shapes);
BENCHMARK(BM_elementwise_forward)->Apply(shapes);
BENCHMARK(BM_loss_seeds)->Apply(shapes);
BENCHMARK(BM_sweeps)->Apply(narrow_shapes)->Args({256, 1024})->Args({1024, 1024});
BENCHMARK(BM_fused_gradient)->Apply(narrow_shapes);
BENCHMARK(BM_adam)->Apply(parameter_counts);
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
