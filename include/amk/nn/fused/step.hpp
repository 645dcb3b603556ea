#pragma once
// The fused training step as ONE team kernel (FusedEngine's, nn/fused_engine.hpp): a team
// takes a block of up to `block` samples at a time and carries it through every sweep with
// all its intermediates in team scratch memory (nn/fused/scratch.hpp):
//   forward (σ, σ', σ'') → input gradient g = ∇ᵤs → loss seeds (the Seeds functor, per
//   column) → tangent sweep along a₀ → one reverse sweep over primal and tangent columns,
// accumulating dW_k += [δ | z̄][ḣ | h]ᵀ (one product) and db_k += Σ z̄ into a team-private
// gradient. The same equations as GemmEngine (nn/gemm_engine.hpp), block by block; the
// head's share from nn/head.hpp, the columns as nn/columns.hpp lays them out.
// Teams are persistent (one per gradient slot, each walking blocks slot, slot + slots, …);
// the weights (and their transposes, so that every product is a W·B product) are copied into
// scratch once per team. Interior blocks are columns [0, n_t); boundary blocks (forward and
// value-seed reverse only) are columns [n_t, n_p).
#include <amk/core/types.hpp>
#include <amk/nn/activation.hpp>
#include <amk/nn/columns.hpp>
#include <amk/nn/engine.hpp>
#include <amk/nn/fused/scratch.hpp>
#include <amk/nn/head.hpp>
#include <amk/nn/impl/team_kernels.hpp>
#include <amk/nn/mlp.hpp>

namespace amk::impl
{
/// The fused step as a functor (a class, not a lambda: nvcc needs no extended lambdas).
/// Seeds: the per-column loss; impl::NoLoss compiles the evaluation only (forward, input
/// gradient, curvature, the outputs), with none of the training sweeps.
template <class Scalar, class Exec, class Act, class Seeds, TilePath Path> struct FusedStep
{
  static constexpr bool evaluation = is_evaluation_only<Seeds>;
  using member_type = typename Kokkos::TeamPolicy<Exec>::member_type;
  using scratch_view = Kokkos::View<Scalar *, typename Exec::scratch_memory_space, Kokkos::MemoryUnmanaged>;

  nn::MlpShape shape;
  FusedScratch layout;
  int block, nt, np, interior_blocks, blocks, slots, dirs;
  Vector<Scalar, Exec> params;
  Matrix<Scalar, Exec> input;                                     // u (input_size × n_p)
  Matrix<Scalar, Exec> directions;                                // v (input_size × dirs·n_t)
  Seeds seeds;                                                    // per-column loss: seeds, terms
  nn::Evaluation<Scalar, Exec> out;                               // evaluation: where s, ∇ᵤs go
  Matrix<Scalar, Exec> slot_grad;                                 // (param_count × slots), unused with one slot
  Vector<Scalar, Exec> grad;                                      // written directly with one slot
  Kokkos::View<double **, typename Exec::memory_space> slot_sums; // (slots × 2)

  /// Where one block's buffers are: its columns as nn/columns.hpp lays them out (mt = mb
  /// tangents for interior blocks, 0 for boundary ones; md = dirs·mt direction columns,
  /// direction kk of column c at kk·mt + c among them; mb primal columns), each node with
  /// leading dimension n_j.
  /// The team's groups: base (the block buffers), P (weights), PT (their transposes), G (the
  /// team's gradient), wherever the scratch plan put them.
  struct Groups
  {
    Scalar *base, *P, *PT, *G;
  };
  struct Block : Groups
  {
    nn::ColumnLayout columns;
    int mb, mt, md;
    KOKKOS_INLINE_FUNCTION Block(const Groups &g, const nn::ColumnLayout &c)
        : Groups(g), columns(c), mb(int(c.primal)), mt(int(c.tangents)), md(int(c.direction_columns()))
    {
    }
  };

  KOKKOS_INLINE_FUNCTION int node(int j) const { return shape.node_size(j); }
  KOKKOS_INLINE_FUNCTION std::int64_t node_offset(int j) const // of node j in the H region
  {
    return j == 0 ? 0
                  : (std::int64_t(shape.input_size()) + std::int64_t(j - 1) * shape.width) * (2 + dirs) * block;
  }
  KOKKOS_INLINE_FUNCTION Scalar *H(const Block &k, int j) const { return k.base + layout.h + node_offset(j); }
  KOKKOS_INLINE_FUNCTION Scalar *Hd(const Block &k, int j) const
  {
    return H(k, j) + std::int64_t(node(j)) * k.columns.directions_begin();
  }
  KOKKOS_INLINE_FUNCTION Scalar *Hp(const Block &k, int j) const
  {
    return H(k, j) + std::int64_t(node(j)) * k.columns.primal_begin();
  }
  KOKKOS_INLINE_FUNCTION Scalar *D(const Block &k, int j) const // D_j, j = 1 … L+1
  {
    return j == shape.depth + 1 ? k.base + layout.dout
                                : k.base + layout.d + std::int64_t(j - 1) * shape.width * (2 + dirs) * block;
  }
  KOKKOS_INLINE_FUNCTION Scalar *Dd(const Block &k, int j) const
  {
    return D(k, j) + std::int64_t(node(j)) * k.columns.directions_begin();
  }
  KOKKOS_INLINE_FUNCTION Scalar *Dp(const Block &k, int j) const
  {
    return D(k, j) + std::int64_t(node(j)) * k.columns.primal_begin();
  }
  /// ż_j,k of node j = 1 … L+1 (n_j × md)
  KOKKOS_INLINE_FUNCTION Scalar *Z(const Block &k, int j) const
  {
    return k.base + layout.z + std::int64_t(j - 1) * shape.width * dirs * block;
  }
  /// where q_j is kept: apart from ḡ_j with directions (the reverse needs ḡ), else over it
  KOKKOS_INLINE_FUNCTION Scalar *Q(const Block &k, int j) const
  {
    return hidden(k, dirs > 0 ? layout.q : layout.g, j);
  }
  KOKKOS_INLINE_FUNCTION Scalar *hidden(const Block &k, std::int64_t region, int j) const // S1, S2, G of node j
  {
    return k.base + region + std::int64_t(j - 1) * shape.width * block;
  }
  KOKKOS_INLINE_FUNCTION const Scalar *W(const Block &k, int map) const
  {
    return k.P + shape.weight_offset(map);
  }
  KOKKOS_INLINE_FUNCTION const Scalar *bias(const Block &k, int map) const
  {
    return k.P + shape.bias_offset(map);
  }
  KOKKOS_INLINE_FUNCTION const Scalar *Wt(const Block &k, int map) const
  {
    std::int64_t off = 0;
    for (int i = 0; i < map; ++i)
      off += std::int64_t(node(i)) * node(i + 1);
    return k.PT + off;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const member_type &team) const
  {
    // each level taken once: every team_scratch() call bumps the team's scratch pointer
    Scalar *levels[2] = {nullptr, nullptr};
    for (int l = 0; l < 2; ++l)
      if (layout.level_total[l] > 0)
        levels[l] = scratch_view(team.team_scratch(l), layout.level_total[l]).data();
    auto at = [&](const ScratchPlace &p) { return levels[p.level] + p.at; };
    const Groups groups{at(layout.buffers), at(layout.params), at(layout.transposed), at(layout.grad)};
    Scalar *const P = groups.P, *const PT = groups.PT;
    const int maps = shape.maps();
    const std::int64_t count = shape.param_count();

    // zeroed scratch (gradient accumulators; finite values wherever a tile over-reads),
    // then the weights and their transposes
    for (int l = 0; l < 2; ++l)
    {
      Scalar *const zero = levels[l];
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, layout.level_total[l]), [&](std::int64_t i) { zero[i] = 0; });
    }
    team.team_barrier();
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, count), [&](std::int64_t i) { P[i] = params(i); });
    std::int64_t toff = 0;
    for (int k = 0; k < maps; ++k)
    {
      const int rows = node(k + 1), cols = node(k);
      const Scalar *Wk = params.data() + shape.weight_offset(k);
      Scalar *Wk_t = PT + toff;
      team_for_each<Path>(
          team, cols, rows, [&](int c, int r) { Wk_t[c + std::int64_t(r) * cols] = Wk[r + std::int64_t(c) * rows]; });
      toff += std::int64_t(rows) * cols;
    }
    team.team_barrier();

    double sum_interior = 0, sum_boundary = 0;
    for (int b = team.league_rank(); b < blocks; b += slots)
    {
      const bool interior = b < interior_blocks;
      const int c0 = interior ? b * block : nt + (b - interior_blocks) * block;
      const int end = interior ? nt : np;
      const int mb = end - c0 < block ? end - c0 : block;
      const Block k(groups, nn::ColumnLayout{interior ? mb : 0, dirs, mb});
      if (interior)
        sum_interior += interior_block(team, k, c0);
      else if constexpr (!evaluation)
        sum_boundary += boundary_block(team, k, c0);
    }
    if constexpr (!evaluation)
      store_gradient(team, groups.G, sum_interior, sum_boundary);
  }

  /// The team's gradient and loss sums out.
  KOKKOS_INLINE_FUNCTION void store_gradient(const member_type &team, const Scalar *dP, double sum_interior,
                                             double sum_boundary) const
  {
    const std::int64_t count = shape.param_count();
    const int slot = team.league_rank();
    if (slots == 1)
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, count), [&](std::int64_t i) { grad(i) = dP[i]; });
    else
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, count), [&](std::int64_t i) { slot_grad(i, slot) = dP[i]; });
    Kokkos::single(Kokkos::PerTeam(team),
                   [&]()
                   {
                     slot_sums(slot, 0) = sum_interior;
                     slot_sums(slot, 1) = sum_boundary;
                   });
  }

  /// Forward sweep of columns [c0, c0 + mb): h_j, σ'(z_j) (and σ''(z_j) for interior
  /// blocks), the output y and the action values s.
  KOKKOS_INLINE_FUNCTION void forward(const member_type &team, const Block &k, int c0) const
  {
    const int L = shape.depth, in = shape.input_size(), o = shape.output_size(), mb = k.mb;
    Scalar *u = Hp(k, 0);
    team_for_each<Path>(team, in, mb, [&](int r, int c) { u[r + c * in] = input(r, c0 + c); });
    team.team_barrier();
    for (int map = 0; map < L; ++map)
    {
      const int n = node(map + 1);
      Scalar *z = hidden(k, layout.s1, map + 1), *z2 = hidden(k, layout.s2, map + 1), *h = Hp(k, map + 1);
      const Scalar *b = bias(k, map);
      team_gemm<Path>(team, n, mb, node(map), W(k, map), n, Hp(k, map), 1, node(map), z, n, false);
      team.team_barrier();
      if (k.mt > 0 && dirs > 0)
      {
        Scalar *z3 = hidden(k, layout.s3, map + 1);
        team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    z3[i] = Act::d3(z[i] + b[r]);
                                    Act::eval(z[i] + b[r], h[i], z[i], z2[i]);
                                  });
      }
      else if (k.mt > 0)
        team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    Act::eval(z[i] + b[r], h[i], z[i], z2[i]);
                                  });
      else
        team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    Scalar d2;
                                    Act::eval(z[i] + b[r], h[i], z[i], d2);
                                  });
      team.team_barrier();
    }
    Scalar *y = k.base + layout.y;
    team_gemm<Path>(team, o, mb, node(L), W(k, L), o, Hp(k, L), 1, node(L), y, o, false);
    team.team_barrier();
    const Scalar *bL = bias(k, L);
    Scalar *s = k.base + layout.s;
    const nn::HeadRule head(shape.head);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, mb),
                         [&](int c)
                         {
                           Scalar squares = 0;
                           for (int r = 0; r < o; ++r)
                           {
                             y[r + c * o] += bL[r];
                             squares += nn::HeadRule::square(u[r + c * in], y[r + c * o]);
                           }
                           s[c] = head.value(y[c * o], squares);
                         });
    team.team_barrier();
  }

  /// dW_map += D_{map+1} H_mapᵀ over the block's tangent and primal columns (one product),
  /// db_map += Σ_c z̄_{map+1} over its primal columns.
  KOKKOS_INLINE_FUNCTION void add_gradient(const member_type &team, const Block &k, int map) const
  {
    const int rows = node(map + 1), cols = node(map);
    Scalar *dW = k.G + shape.weight_offset(map);
    Scalar *db = k.G + shape.bias_offset(map);
    team_gemm<Path>(team, rows, cols, int(k.columns.total()), D(k, map + 1), rows, H(k, map), cols, 1, dW,
                          rows, true);
    const Scalar *adj = Dp(k, map + 1);
    if constexpr (Path == TilePath::host_simd) // column by column: the row loop vectorises
      for (int c = 0; c < k.mb; ++c)
        for (int r = 0; r < rows; ++r)
          db[r] += adj[r + c * rows];
    else
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, rows),
                           [&](int r)
                           {
                             Scalar acc = 0;
                             for (int c = 0; c < k.mb; ++c)
                               acc += adj[r + c * rows];
                             db[r] += acc;
                           });
  }

  /// Reverse sweep from the output adjoints [ζ | ȳ] (D_{L+1} after its tangent block) down
  /// to the input: z̄_l = h̄_l σ'(z_l) [+ q_l + Σ_k σ'' ż_l,k ḣ̄_l,k for interior blocks],
  /// ζ_l,k = σ' ḣ̄_l,k + 2 clap ḡ_l σ'' ż_l,k, [ḣ̄ | h̄]_{l−1} = W_lᵀ [ζ | z̄]_l.
  KOKKOS_INLINE_FUNCTION void reverse(const member_type &team, const Block &k) const
  {
    const int L = shape.depth, n = shape.width, mb = k.mb, md = k.md;
    Scalar *hbar = k.base + layout.hbar; // [ḣ̄ (n × md) | h̄ (n × mb)]
    const Scalar *clap = k.base + layout.clap;
    add_gradient(team, k, L);
    team_gemm<Path>(team, n, md + mb, node(L + 1), Wt(k, L), n, Dd(k, L + 1), 1, node(L + 1), hbar, n, false);
    team.team_barrier();
    for (int j = L; j >= 1; --j)
    {
      const Scalar *d1 = hidden(k, layout.s1, j), *q = Q(k, j), *hb = hbar + std::int64_t(n) * md;
      Scalar *zbar = Dp(k, j);
      if (md > 0)
      {
        const Scalar *d2 = hidden(k, layout.s2, j), *g = hidden(k, layout.g, j), *z = Z(k, j);
        Scalar *zeta = Dd(k, j);
        team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    const Scalar two_cg = 2 * clap[c] * g[i];
                                    Scalar acc = hb[i] * d1[i] + q[i];
                                    for (int kk = 0; kk < dirs; ++kk)
                                    {
                                      const int e = r + (kk * mb + c) * n;
                                      acc += d2[i] * z[e] * hbar[e];
                                      zeta[e] = d1[i] * hbar[e] + two_cg * d2[i] * z[e];
                                    }
                                    zbar[i] = acc;
                                  });
      }
      else if (k.mt > 0)
        team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    zbar[i] = hb[i] * d1[i] + q[i];
                                  });
      else
        team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    zbar[i] = hb[i] * d1[i];
                                  });
      team.team_barrier();
      add_gradient(team, k, j - 1);
      if (j > 1)
        team_gemm<Path>(team, n, md + mb, n, Wt(k, j - 1), n, Dd(k, j), 1, n, hbar, n, false);
      team.team_barrier();
    }
  }

  /// Direction tangents of an interior block and its curvature Σ_k v_kᵀ∇ₓ²s v_k per column
  /// (into the lap region): ż_j,k = W ḣ_{j−1},k, ḣ_j,k = σ' ż_j,k from ḣ_0,k = v_k.
  KOKKOS_INLINE_FUNCTION void curvature(const member_type &team, const Block &k, int c0) const
  {
    const int L = shape.depth, in = shape.input_size(), o = shape.output_size(), d = shape.dim, mb = k.mb,
              md = k.md;
    Scalar *v = Hd(k, 0), *lap = k.base + layout.lap;
    team_for_each<Path>(team, in, md,
                              [&](int r, int col)
                              { v[r + col * in] = directions(r, (col / mb) * nt + c0 + col % mb); });
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, mb), [&](int c) { lap[c] = 0; });
    team.team_barrier();
    for (int j = 1; j <= L; ++j)
    {
      const int n = node(j);
      Scalar *z = Z(k, j), *hd = Hd(k, j);
      const Scalar *d1 = hidden(k, layout.s1, j), *d2 = hidden(k, layout.s2, j), *g = hidden(k, layout.g, j);
      team_gemm<Path>(team, n, md, node(j - 1), W(k, j - 1), n, Hd(k, j - 1), 1, node(j - 1), z, n, false);
      team.team_barrier();
      team_for_each<Path>(team, n, md,
                                [&](int r, int col) { hd[r + col * n] = d1[r + (col % mb) * n] * z[r + col * n]; });
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, mb),
                           [&](int c)
                           {
                             Scalar acc = 0;
                             for (int r = 0; r < n; ++r)
                             {
                               Scalar sq = 0;
                               for (int kk = 0; kk < dirs; ++kk)
                                 sq += z[r + (kk * mb + c) * n] * z[r + (kk * mb + c) * n];
                               acc += g[r + c * n] * d2[r + c * n] * sq;
                             }
                             lap[c] += acc;
                           });
      team.team_barrier();
    }
    if (shape.head == nn::Head::quadratic) // ẏ_k = W ḣ_L,k; + Σ_k |v_x,k − ẏ_k|²
    {
      Scalar *ydot = Z(k, L + 1);
      team_gemm<Path>(team, o, md, node(L), W(k, L), o, Hd(k, L), 1, node(L), ydot, o, false);
      team.team_barrier();
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, mb),
                           [&](int c)
                           {
                             Scalar acc = 0;
                             for (int kk = 0; kk < dirs; ++kk)
                               for (int r = 0; r < d; ++r)
                                 acc += nn::HeadRule::square(v[r + (kk * mb + c) * in], ydot[r + (kk * mb + c) * o]);
                             lap[c] += acc;
                           });
      team.team_barrier();
    }
  }

  /// An interior block: the derivatives of s (forward, input gradient, curvature), then
  /// either the outputs (evaluation) or the seeds and the training sweeps; returns its loss terms.
  KOKKOS_INLINE_FUNCTION double interior_block(const member_type &team, const Block &k, int c0) const
  {
    derivatives(team, k, c0);
    if constexpr (evaluation)
    {
      store_evaluation(team, k, c0);
      return 0;
    }
    else
      return seeded_sweeps(team, k, c0);
  }

  /// Forward, the input gradient g = ∇ᵤs (into g0) and, with directions, the curvature.
  /// Input gradient: δ_{L+1} = ∂s/∂y, ḡ_L = W_Lᵀ δ_{L+1}, δ_l = ḡ_l ⊙ σ'(z_l), ḡ_{l−1} = W_{l−1}ᵀ δ_l.
  KOKKOS_INLINE_FUNCTION void derivatives(const member_type &team, const Block &k, int c0) const
  {
    const int L = shape.depth, n = shape.width, in = shape.input_size(), o = shape.output_size(), d = shape.dim;
    const int mb = k.mb;
    const nn::HeadRule head(shape.head);
    forward(team, k, c0);
    const Scalar *u = Hp(k, 0), *y = k.base + layout.y;
    Scalar *dy = D(k, L + 1);
    team_for_each<Path>(team, o, mb, [&](int r, int c) { dy[r + c * o] = head.output_seed(u[r + c * in], y[r + c * o]); });
    team.team_barrier();
    team_gemm<Path>(team, n, mb, o, Wt(k, L), n, dy, 1, o, hidden(k, layout.g, L), n, false);
    team.team_barrier();
    for (int j = L; j >= 1; --j)
    {
      const Scalar *g = hidden(k, layout.g, j), *d1 = hidden(k, layout.s1, j);
      Scalar *delta = D(k, j);
      team_for_each<Path>(team, n, mb,
                          [&](int r, int c)
                          {
                            const int i = r + c * n;
                            delta[i] = g[i] * d1[i];
                          });
      team.team_barrier();
      Scalar *below = j > 1 ? hidden(k, layout.g, j - 1) : k.base + layout.g0;
      team_gemm<Path>(team, node(j - 1), mb, n, Wt(k, j - 1), node(j - 1), delta, 1, n, below, node(j - 1), false);
      team.team_barrier();
    }
    Scalar *g0 = k.base + layout.g0;
    if (head.quadratic)
    {
      team_for_each<Path>(team, d, mb,
                          [&](int r, int c) { g0[r + c * in] += head.direct_gradient(u[r + c * in], y[r + c * o]); });
      team.team_barrier();
    }
    if (dirs > 0)
      curvature(team, k, c0);
  }

  /// Evaluation: s, ∇ᵤs and the curvature of the block's columns into `out`.
  KOKKOS_INLINE_FUNCTION void store_evaluation(const member_type &team, const Block &k, int c0) const
  {
    const int in = shape.input_size();
    const Scalar *s = k.base + layout.s, *g0 = k.base + layout.g0, *lap = k.base + layout.lap;
    const bool want_s = out.value.extent(0) > 0, want_g = out.gradient.extent(1) > 0,
               want_lap = out.curvature.extent(0) > 0;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, k.mb),
                         [&](int c)
                         {
                           if (want_s)
                             out.value(c0 + c) = s[c];
                           if (want_g)
                             for (int r = 0; r < in; ++r)
                               out.gradient(r, c0 + c) = g0[r + c * in];
                           if (want_lap)
                             out.curvature(c0 + c) = lap[c];
                         });
    team.team_barrier();
  }

  /// Training, after derivatives(): the loss seeds, the tangent sweep and the reverse sweep.
  KOKKOS_INLINE_FUNCTION double seeded_sweeps(const member_type &team, const Block &k, int c0) const
  {
    const int L = shape.depth, n = shape.width, in = shape.input_size(), o = shape.output_size();
    const int mb = k.mb;
    const nn::HeadRule head(shape.head);
    const Scalar *u = Hp(k, 0), *y = k.base + layout.y, *s = k.base + layout.s, *g0 = k.base + layout.g0;
    Scalar *lap = k.base + layout.lap, *clap = k.base + layout.clap;

    // loss seeds: a₀ (the tangent half of H_0) and c_s, per column
    Scalar *a0 = H(k, 0), *cs = k.base + layout.cs;
    double loss = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, mb),
        [&](int c, double &acc)
        {
          Scalar cl = 0;
          acc += double(
              seeds.interior(c0 + c, s[c], g0 + c * in, dirs > 0 ? lap[c] : Scalar(0), a0 + c * in, cs[c], cl));
          if (dirs > 0)
            clap[c] = cl;
        },
        loss);
    team.team_barrier();

    // tangent sweep: ż_l = W γ_{l−1}, γ_l = σ'(z_l) ż_l, q_l = ḡ_l ⊙ σ''(z_l) ⊙ ż_l (into G_l);
    // with directions (S = Σ_k ż_l,k²) γ_l += clap σ'' S and q_l += clap ḡ σ''' S (into Q_l)
    Scalar *zdot = k.base + layout.hbar;
    for (int j = 1; j <= L; ++j)
    {
      team_gemm<Path>(team, n, mb, node(j - 1), W(k, j - 1), n, H(k, j - 1), 1, node(j - 1), zdot, n, false);
      team.team_barrier();
      const Scalar *d1 = hidden(k, layout.s1, j), *d2 = hidden(k, layout.s2, j);
      Scalar *hd = H(k, j), *g = hidden(k, layout.g, j);
      if (dirs > 0)
      {
        const Scalar *d3 = hidden(k, layout.s3, j), *z = Z(k, j);
        Scalar *q = Q(k, j);
        team_for_each<Path>(team, n, mb,
                            [&](int r, int c)
                            {
                              const int i = r + c * n;
                              Scalar sq = 0;
                              for (int kk = 0; kk < dirs; ++kk)
                                sq += z[r + (kk * mb + c) * n] * z[r + (kk * mb + c) * n];
                              const Scalar zd = zdot[i];
                              hd[i] = d1[i] * zd + clap[c] * d2[i] * sq;
                              q[i] = g[i] * (d2[i] * zd + clap[c] * d3[i] * sq);
                            });
      }
      else
        team_for_each<Path>(team, n, mb,
                            [&](int r, int c)
                            {
                              const int i = r + c * n;
                              const Scalar z = zdot[i];
                              hd[i] = d1[i] * z;
                              g[i] *= d2[i] * z;
                            });
      team.team_barrier();
    }
    Scalar *ydot = k.base + layout.ydot, *ybar = Dp(k, L + 1);
    if (head.quadratic)
    {
      team_gemm<Path>(team, o, mb, n, W(k, L), o, H(k, L), 1, n, ydot, o, false);
      team.team_barrier();
    }
    // reverse seed ȳ = c_s ∂φ/∂y + ∂ṡ/∂y (nn/head.hpp)
    team_for_each<Path>(team, o, mb,
                        [&](int r, int c)
                        {
                          const int i = r + c * o;
                          ybar[i] = head.tangent_seed(cs[c], u[r + c * in], y[i], a0[r + c * in], ydot[i]);
                        });
    if (dirs > 0) // the directions' output adjoints
    {
      Scalar *zeta = Dd(k, L + 1);
      const Scalar *v = Hd(k, 0), *yk = Z(k, L + 1);
      team_for_each<Path>(team, o, k.md,
                          [&](int r, int col)
                          { zeta[r + col * o] = head.direction_seed(clap[col % mb], v[r + col * in], yk[r + col * o]); });
    }
    team.team_barrier();
    reverse(team, k);
    return loss;
  }

  /// A boundary block: forward, value seeds, reverse; returns its loss terms.
  KOKKOS_INLINE_FUNCTION double boundary_block(const member_type &team, const Block &k, int c0) const
  {
    const int in = shape.input_size(), o = shape.output_size(), L = shape.depth;
    const nn::HeadRule head(shape.head);
    forward(team, k, c0);
    const Scalar *u = Hp(k, 0), *y = k.base + layout.y, *s = k.base + layout.s;
    Scalar *ybar = Dp(k, L + 1), *cs = k.base + layout.cs;
    double loss = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, k.mb),
        [&](int c, double &acc) { acc += double(seeds.boundary(c0 + c, s[c], cs[c])); }, loss);
    team.team_barrier();
    team_for_each<Path>(team, o, k.mb,
                              [&](int r, int c)
                              {
                                const int i = r + c * o;
                                ybar[i] = head.value_seed(cs[c], u[r + c * in], y[i]);
                              });
    team.team_barrier();
    reverse(team, k);
    return loss;
  }
};

/// grad(i) = Σ_s slot_grad(i, s)
template <class Scalar, class Exec> struct SumSlots
{
  Matrix<Scalar, Exec> slot_grad;
  Vector<Scalar, Exec> grad;
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i) const
  {
    Scalar acc = 0;
    for (std::size_t s = 0; s < slot_grad.extent(1); ++s)
      acc += slot_grad(i, s);
    grad(i) = acc;
  }
};

} // namespace amk::impl
