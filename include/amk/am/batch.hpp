#pragma once
// Assembles one training batch: the engine's input columns (interior times from the time
// sampler, x ~ q_t from a source, the time features, the curvature directions) and the
// per-column weights of the loss functor (am/loss.hpp). Every draw is indexed by the
// sample's GLOBAL index (step, position in the global batch), so a batch split over P
// ranks of one source is the same batch as on one rank.
// Sharded data (data/shard.hpp): the ranks of time window a of [lo, hi] (length L) draw
// their interior times inside it, C_a columns between them, each weighing L/C_a instead of
// 1/B: stratified in time, the same integral. The source weighs a draw from its slice of a
// snapshot by slice/snapshot over its share of the columns (data::Columns): unbiased.
//   columns [0, B)            interior: t from the sampler, x ~ q_t, ω = w(t)·mass/B
//   columns [B, 3B)           (difference quadrature only) x of interior column c at the
//                             snapshot times after and before its own, ω = ±mass/(B Δt)
//   then B₀ columns           x ~ q_0 at t = 0, ω = +w(0)·mass/B₀
//   then B₁ columns           x ~ q_1 at t = 1, ω = −w(1)·mass/B₁ (none when w(1) = 0)
// B, B₀, B₁ are GLOBAL batch sizes, so that under MPI the per-rank gradients simply add.
// Interior times: continuous (am/time_sampler.hpp), or for quadrature the snapshot times
// drawn with probability equal to their quadrature weight (am/quadrature.hpp).
#include <amk/core/contracts.hpp>
#include <amk/am/loss.hpp>
#include <amk/am/objective.hpp>
#include <amk/am/quadrature.hpp>
#include <amk/am/time_sampler.hpp>
#include <amk/core/error.hpp>
#include <amk/core/random.hpp>
#include <amk/data/sources.hpp>
#include <amk/nn/engine.hpp>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace amk::am
{
using data::slice;

/// Sample counts of one batch: this rank's columns and the global normalisers.
struct BatchLayout
{
  int interior = 0, differences = 0, boundary0 = 0, boundary1 = 0; ///< this rank's columns
  double global_interior = 1, global_boundary0 = 1, global_boundary1 = 1;
  int primal() const { return interior + differences + boundary0 + boundary1; }
};

template <class Scalar, class ExecutionSpace = DefaultExec> class BatchBuilder
{
  AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, "amk::am::BatchBuilder");

public:
  using memory_space = typename ExecutionSpace::memory_space;
  using vector = Vector<Scalar, ExecutionSpace>;

  /// \param global_interior [in] B;  \param global_boundary [in] B₀ = B₁
  /// \param window [in] where this rank's interior times lie (the source's window)
  BatchBuilder(const ExecutionSpace &space, const nn::MlpShape &shape, const Objective &objective,
               std::int64_t global_interior, std::int64_t global_boundary, int rank, int ranks,
               TimeSampling sampling, std::uint64_t seed, const data::Window &window = data::Window())
      : m_objective(objective), m_key(RandomKey(seed)(0xba7c)), m_loss(shape), m_window(window)
  {
    require(global_interior >= ranks && global_boundary >= ranks,
            "batch: --batch must be at least the number of MPI ranks");
    const auto in = slice(global_interior, rank, ranks), bd = slice(global_boundary, rank, ranks);
    // the window's ranks are consecutive, so are their columns: [W0, W1) of the global batch
    const int per_window = ranks / window.count;
    m_window_begin = slice(global_interior, window.index * per_window, ranks).first;
    m_window_columns = slice(global_interior, (window.index + 1) * per_window - 1, ranks).second - m_window_begin;
    m_columns.interior_share = double(in.second - in.first) / double(m_window_columns);
    m_columns.boundary_share = double(bd.second - bd.first) / double(global_boundary);
    const bool q1_terms = objective.weighting == Weighting::none; // w(1) = 0 for the linear weighting
    const bool quadrature = objective.time == TimeMode::quadrature;
    const bool difference = quadrature && objective.rule == QuadratureRule::difference;
    m_layout.interior = int(in.second - in.first);
    m_layout.differences = difference ? 2 * m_layout.interior : 0;
    m_layout.boundary0 = int(bd.second - bd.first);
    m_layout.boundary1 = q1_terms ? m_layout.boundary0 : 0;
    m_layout.global_interior = double(global_interior);
    m_layout.global_boundary0 = m_layout.global_boundary1 = double(global_boundary);
    m_offset_interior = in.first;
    m_offset_boundary = bd.first;
    m_columns.boundary = m_layout.interior + m_layout.differences; // then the q₀ and q₁ columns
    m_length = window.hi - window.lo;
    m_global_interior = global_interior;
    m_global_boundary = global_boundary;
    m_sampler.sampling = sampling;
    m_sampler.u0 = RandomKey(seed)(0x7105).uniform(0);
    m_sampler.key = m_key(1);
    m_sampler.batch = std::uint64_t(global_interior);
    m_sampler.window_begin = std::uint64_t(m_window_begin);
    m_sampler.window_columns = double(m_window_columns);
    const int np = m_layout.primal(), nt = m_layout.interior;
    m_ids = uninitialized<Kokkos::View<std::uint64_t *, memory_space>>(space, "amk::BatchBuilder::ids", np);
    m_mass = uninitialized<vector>(space, "amk::BatchBuilder::mass", np);
    m_loss.t = uninitialized<vector>(space, "amk::BatchBuilder::t", np);
    m_loss.weight = uninitialized<vector>(space, "amk::BatchBuilder::weight", np);
    if (objective.weighting != Weighting::none)
      m_loss.value_weight = uninitialized<vector>(space, "amk::BatchBuilder::value_weight", nt);
    if (objective.kind == LossKind::entropic)
    {
      require(!objective.sigma.empty() && objective.sigma.size() == objective.sigma_t.size(),
              "batch: entropic AM needs a sigma schedule");
      m_loss.diffusion = uninitialized<vector>(space, "amk::BatchBuilder::diffusion", nt);
      auto h = Kokkos::View<double **, Kokkos::LayoutRight, Kokkos::HostSpace>("sigma", 2, objective.sigma.size());
      for (std::size_t i = 0; i < objective.sigma.size(); ++i)
      {
        h(0, i) = objective.sigma_t[i];
        h(1, i) = objective.sigma[i];
      }
      m_sigma = Kokkos::create_mirror_view_and_copy(memory_space(), h);
    }
    if (objective.kind == LossKind::unbalanced)
      m_loss.growth = Scalar(objective.growth);
    m_loss.time_derivative = !difference;
    if (quadrature)
    {
      const QuadratureNodes nodes(objective.nodes, m_window.first, m_window.last, objective.rule);
      m_length = nodes.total_weight; // the rule's weights over the window (its length up to rounding)
      Kokkos::View<QuadratureNode *, Kokkos::HostSpace> h("nodes", nodes.nodes.size());
      for (std::size_t k = 0; k < nodes.nodes.size(); ++k)
        h(k) = nodes.nodes[k];
      m_nodes = Kokkos::create_mirror_view_and_copy(memory_space(), h);
      m_node = uninitialized<Kokkos::View<int *, memory_space>>(space, "amk::BatchBuilder::node", nt);
    }
  }

  const BatchLayout &layout() const { return m_layout; }
  /// The engine capacity this batch needs.
  nn::Capacity capacity(int dim) const
  {
    return nn::Capacity{m_layout.interior, m_layout.primal(), m_objective.directions(dim)};
  }
  /// The loss functor over this batch's columns (valid after build()).
  const ActionLoss<Scalar, ExecutionSpace> &loss() const { return m_loss; }
  /// Normalised times of all columns (interior first, then 0s, then 1s).
  const vector &times() const { return m_loss.t; }

  /// Fills the engine's input columns and the loss weights for training step `step`
  /// (engine.set_batch is done here).
  template <class Engine>
  void build(const ExecutionSpace &space, const data::Source<Scalar, ExecutionSpace> &source, Engine &engine,
             std::int64_t step)
  {
    Region region("amk::BatchBuilder::build");
    engine.set_batch(m_layout.interior, m_layout.primal());
    const auto t = m_loss.t;
    const auto ids = m_ids;
    const auto nodes = m_nodes;
    const auto node = m_node;
    const int K = int(m_nodes.extent(0));
    const int nt = m_layout.interior, nd = m_layout.differences, n0 = m_layout.boundary0;
    const std::uint64_t base_i = std::uint64_t(step) * m_global_interior + m_offset_interior;
    const std::uint64_t base_b = std::uint64_t(step) * m_global_boundary + m_offset_boundary;
    const double lo = m_window.lo, length = m_window.hi - m_window.lo;
    const TimeSampler sampler = m_sampler;
    Kokkos::parallel_for(
        "amk::BatchBuilder::times", policy(space, m_layout.primal()), KOKKOS_LAMBDA(std::int64_t c) {
          constexpr std::uint64_t segment = std::uint64_t(1) << 58;
          if (c < nt)
          {
            const std::uint64_t i = base_i + c;
            double tc = sampler(i);
            if (K == 0) // into the window
              tc = lo + tc * length;
            else // quadrature: the window's node whose cumulative weight first exceeds tc
            {
              int k = 0;
              while (nodes(k).cumulative <= tc)
                ++k;
              node(c) = k;
              tc = nodes(k).time;
            }
            t(c) = Scalar(tc);
            ids(c) = i;
          }
          else if (c < nt + nd) // the difference columns: next kernel (they read node(i))
            return;
          else if (c < nt + nd + n0)
          {
            t(c) = 0;
            ids(c) = segment + base_b + (c - nt - nd);
          }
          else
          {
            t(c) = 1;
            ids(c) = 2 * segment + base_b + (c - nt - nd - n0);
          }
        });
    if (nd > 0) // after the interior columns' nodes are set: another kernel, not a race
      Kokkos::parallel_for(
          "amk::BatchBuilder::difference_times", policy(space, nd), KOKKOS_LAMBDA(std::int64_t j) {
            // x of interior column i at the next (j < nt), then the previous node
            const std::int64_t i = j % nt;
            const QuadratureNode &n = nodes(node(i));
            t(nt + j) = Scalar(nodes(j < nt ? n.next : n.previous).time);
            ids(nt + j) = base_i + std::uint64_t(i);
          });
    const auto u = engine.input();
    source.draw(space, m_loss.t, m_ids, m_key(2), u, m_mass, m_columns);
    if (nd > 0)
    { // the difference columns evaluate s at their interior column's own x
      const int d = engine.shape().dim;
      const auto mass = m_mass;
      Kokkos::parallel_for(
          "amk::BatchBuilder::difference_columns", policy(space, nd), KOKKOS_LAMBDA(std::int64_t j) {
            const std::int64_t c = nt + j, i = j % nt;
            for (int r = 0; r < d; ++r)
              u(r, c) = u(r, i);
            mass(c) = mass(i);
          });
    }
    nn::embed_times(space, engine.shape(), m_loss.t, u);
    weigh(space);
    if (engine.directions() > 0)
      directions(space, engine.direction_input());
  }

  // (public: nvcc's device lambdas may not live in private member functions)
  /// ω, ν and ½σ̃² of every column (after the draw: the masses are known).
  void weigh(const ExecutionSpace &space)
  {
    const auto t = m_loss.t, weight = m_loss.weight, value_weight = m_loss.value_weight;
    const auto diffusion = m_loss.diffusion, mass = m_mass;
    const auto sigma = m_sigma;
    const int nt = m_layout.interior, nd = m_layout.differences, n0 = m_layout.boundary0,
              knots = int(m_sigma.extent(1));
    const auto nodes = m_nodes;
    const auto node = m_node;
    // an interior column weighs the window's length over its columns (1/B on one rank)
    const double w_int = m_length / double(m_window_columns), w_0 = 1 / m_layout.global_boundary0,
                 w_1 = 1 / m_layout.global_boundary1;
    const bool linear = m_objective.weighting == Weighting::linear, entropic = diffusion.extent(0) > 0;
    Kokkos::parallel_for(
        "amk::BatchBuilder::weights", policy(space, m_layout.primal()), KOKKOS_LAMBDA(std::int64_t c) {
          const double tc = t(c), w = linear ? 1 - tc : 1.0, m = mass(c);
          if (c < nt)
          {
            weight(c) = Scalar(w * m * w_int);
            if (linear)
              value_weight(c) = Scalar(-m * w_int); // w'(t) = −1
            if (entropic)
            {
              const double s = interpolate(&sigma(0, 0), &sigma(1, 0), knots, tc);
              diffusion(c) = Scalar(s * s / 2);
            }
          }
          else if (c < nt + nd) // ± (s(x, t_hi) − s(x, t_lo)) / (t_hi − t_lo) / B
          {
            const int k = node((c - nt) % nt);
            weight(c) = Scalar((c - nt < nt ? 1 : -1) * m * w_int * nodes(k).inverse_gap);
          }
          else
            weight(c) = Scalar(c < nt + nd + n0 ? w * m * w_0 : -w * m * w_1);
        });
  }

  /// The curvature directions: the d axes (exact Laplacian) or m random probes ε/√m
  /// (Hutchinson: Σ_k (ε_k/√m)ᵀ∇²s (ε_k/√m) averages the m estimates), time rows zero.
  template <class V> void directions(const ExecutionSpace &space, const V &v)
  {
    const int rows = int(v.extent(0)), d = m_loss.dim, nt = m_layout.interior;
    const int m = nt > 0 ? int(v.extent(1)) / nt : 0;
    const bool exact = m_objective.laplacian == LaplacianMode::exact;
    const bool gaussian = m_objective.probe_distribution == ProbeDistribution::gaussian;
    const double scale = 1 / std::sqrt(double(m));
    const auto ids = m_ids;
    const RandomKey key = m_key(3);
    Kokkos::parallel_for(
        "amk::BatchBuilder::directions", policy(space, std::int64_t(m) * nt), KOKKOS_LAMBDA(std::int64_t kc) {
          const int k = int(kc / nt);
          const std::int64_t c = kc % nt;
          const RandomKey probe = key(ids(c))(std::uint64_t(k));
          for (int r = 0; r < rows; ++r)
          {
            double e = 0;
            if (r < d)
              e = exact ? (r == k ? 1.0 : 0.0)
                        : scale * (gaussian ? probe.normal(std::uint64_t(r)) : (probe.bits(std::uint64_t(r)) >> 63 ? 1.0 : -1.0));
            v(r, kc) = Scalar(e);
          }
        });
  }

private:
  Objective m_objective;
  RandomKey m_key;
  TimeSampler m_sampler;
  BatchLayout m_layout;
  ActionLoss<Scalar, ExecutionSpace> m_loss;
  data::Window m_window;
  data::Columns m_columns;
  std::int64_t m_window_begin = 0, m_window_columns = 1; ///< the window's columns [W0, W0 + C) of the global batch
  double m_length = 1; ///< the window's length (quadrature: its nodes' total weight)
  std::int64_t m_offset_interior = 0, m_offset_boundary = 0, m_global_interior = 1, m_global_boundary = 1;
  Kokkos::View<std::uint64_t *, memory_space> m_ids;
  vector m_mass;
  Kokkos::View<double **, Kokkos::LayoutRight, memory_space> m_sigma; ///< (2 × knots): normalised times, σ̃
  Kokkos::View<QuadratureNode *, memory_space> m_nodes;               ///< quadrature: the window's nodes
  Kokkos::View<int *, memory_space> m_node;                            ///< quadrature: node of each interior column
};
} // namespace amk::am
