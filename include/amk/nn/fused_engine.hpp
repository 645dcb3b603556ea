#pragma once
// FusedEngine: the whole derivative chain of one training step (DESIGN.md §2) in ONE kernel
// launch, for narrow networks where library GEMMs are latency-bound and the step is a
// chain of ~40 small launches (see FusedEngine::suits for where it is chosen).
//
// A team takes a block of up to `block` samples at a time and carries it through every
// sweep with all its intermediates in team scratch memory:
//   forward (σ, σ', σ'') → input gradient g = ∇ᵤs → loss seeds (the Seeds functor, per
//   column) → tangent sweep along a₀ → one reverse sweep over primal and tangent columns,
// accumulating dW_k += [δ | z̄][ḣ | h]ᵀ (one product) and db_k += Σ z̄ into a team-private
// gradient.
// The same equations as GemmEngine (see engine.hpp), block by block. Teams are persistent
// (one per gradient slot, each walking blocks slot, slot + slots, …); the weights (and their
// transposes, so that every product is a W·B product) are copied into scratch once per
// team. A last kernel sums the slots into the gradient (skipped with one slot).
// Interior blocks are columns [0, n_t); boundary blocks (forward and value-seed reverse
// only) are columns [n_t, n_p).
#include <amk/core/error.hpp>
#include <amk/core/types.hpp>
#include <amk/nn/activation.hpp>
#include <amk/nn/engine.hpp>
#include <amk/nn/impl/team_kernels.hpp>
#include <amk/nn/mlp.hpp>
#include <algorithm>

namespace amk::nn
{
namespace detail
{
/// Default samples per block: 64 was fastest at widths 64…256 here (the weight-gradient
/// tiles are loaded and stored once per 128 columns); a width-256 team then holds ~3 MB.
inline constexpr int default_block = 64;

/// Samples per block for `directions` curvature directions: about 128 columns of a node's
/// buffers (2 + directions per sample) in all, at least 16 samples.
inline int block_for(int directions)
{
  return directions == 0 ? default_block : std::max(16, std::min(default_block, 256 / (2 + directions)));
}

/// Offsets (in elements, each region padded to 64 bytes) of one team's scratch regions.
/// Per node j the tangent, direction and primal columns of a block are adjacent, as in
/// GemmEngine: H_j = [γ_j | ḣ_j,k | h_j] and D_j = [δ_j | ζ_j,k | z̄_j] (n_j × (2 + dirs)m),
/// so that dW_j−1 += D_j H_j−1ᵀ is ONE product over all of a block's columns (the dW tile is
/// loaded and stored once per block). With curvature directions (dirs > 0) also ż_j,k (Z),
/// σ''' (S3) and q_j apart from ḡ_j (Q), and the curvature and its seed per column.
struct FusedScratch
{
  std::int64_t params = 0, transposed = 0, grad = 0, h = 0, d = 0, dout = 0, s1 = 0, s2 = 0, s3 = 0, g = 0, q = 0,
               z = 0, g0 = 0, y = 0, ydot = 0, hbar = 0, cs = 0, s = 0, lap = 0, clap = 0, total = 0;

  FusedScratch(const MlpShape &shape, int block, int scalar_bytes, int dirs = 0)
  {
    const std::int64_t m = block, n = shape.width, L = shape.depth, in = shape.input_size(), o = shape.output_size();
    const std::int64_t cols = (2 + dirs) * m; // per node: tangent, directions, primal
    const std::int64_t pad = 64 / scalar_bytes;
    auto take = [&](std::int64_t count)
    {
      const std::int64_t at = total;
      total += (count + pad - 1) / pad * pad;
      return at;
    };
    params = take(shape.param_count());
    transposed = take(shape.forward_macs());
    grad = take(shape.param_count());
    h = take((in + L * n) * cols); // H_0 … H_L
    d = take(L * n * cols);        // D_1 … D_L
    dout = take(o * cols);         // D_{L+1} = [∂s/∂y | ζ | ȳ]
    s1 = take(L * n * m);
    s2 = take(L * n * m);
    g = take(L * n * m);
    if (dirs > 0)
    {
      s3 = take(L * n * m);
      q = take(L * n * m);
      z = take((L * n + o) * dirs * m); // ż of the hidden nodes, then ẏ (quadratic head)
      lap = take(m);
      clap = take(m);
    }
    g0 = take(in * m);
    y = take(o * m);
    ydot = take(o * m);
    hbar = take(n * (1 + dirs) * m); // [ḣ̄ | h̄], and ż in the tangent sweep
    cs = take(m);
    s = take(m);
    take(64); // zeroed tail: host tiles read up to one register past a matrix' last row
  }
};

/// The fused step as a functor (a class, not a lambda: nvcc needs no extended lambdas).
template <class Scalar, class Exec, class Act, class Seeds, impl::TilePath Path> struct FusedStep
{
  using member_type = typename Kokkos::TeamPolicy<Exec>::member_type;
  using scratch_view = Kokkos::View<Scalar *, typename Exec::scratch_memory_space, Kokkos::MemoryUnmanaged>;

  MlpShape shape;
  FusedScratch layout;
  int level, block, nt, np, interior_blocks, blocks, slots, dirs;
  Vector<Scalar, Exec> params;
  Matrix<Scalar, Exec> input;                                     // u (input_size × n_p)
  Matrix<Scalar, Exec> directions;                                // v (input_size × dirs·n_t)
  Seeds seeds;                                                    // per-column loss: seeds, terms
  Evaluation<Scalar, Exec> out;                                   // evaluate(): where s, ∇ᵤs go
  bool evaluate_only;                                             // forward and input gradient only
  Matrix<Scalar, Exec> slot_grad;                                 // (param_count × slots), unused with one slot
  Vector<Scalar, Exec> grad;                                      // written directly with one slot
  Kokkos::View<double **, typename Exec::memory_space> slot_sums; // (slots × 2)

  /// Where one block's buffers are: tangent columns first (mt = mb for interior blocks,
  /// 0 for boundary ones), then md = dirs·mt direction columns (direction kk of column c
  /// at kk·mt + c), then mb primal columns, each node with leading dimension n_j.
  struct Block
  {
    Scalar *base;
    int mb, mt, md;
  };

  KOKKOS_INLINE_FUNCTION int node(int j) const { return shape.node_size(j); }
  KOKKOS_INLINE_FUNCTION std::int64_t node_offset(int j) const // of node j in the H region
  {
    return j == 0 ? 0
                  : (std::int64_t(shape.input_size()) + std::int64_t(j - 1) * shape.width) * (2 + dirs) * block;
  }
  KOKKOS_INLINE_FUNCTION Scalar *H(const Block &k, int j) const { return k.base + layout.h + node_offset(j); }
  KOKKOS_INLINE_FUNCTION Scalar *Hd(const Block &k, int j) const { return H(k, j) + std::int64_t(node(j)) * k.mt; }
  KOKKOS_INLINE_FUNCTION Scalar *Hp(const Block &k, int j) const
  {
    return H(k, j) + std::int64_t(node(j)) * (k.mt + k.md);
  }
  KOKKOS_INLINE_FUNCTION Scalar *D(const Block &k, int j) const // D_j, j = 1 … L+1
  {
    return j == shape.depth + 1 ? k.base + layout.dout
                                : k.base + layout.d + std::int64_t(j - 1) * shape.width * (2 + dirs) * block;
  }
  KOKKOS_INLINE_FUNCTION Scalar *Dd(const Block &k, int j) const { return D(k, j) + std::int64_t(node(j)) * k.mt; }
  KOKKOS_INLINE_FUNCTION Scalar *Dp(const Block &k, int j) const
  {
    return D(k, j) + std::int64_t(node(j)) * (k.mt + k.md);
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
    return k.base + layout.params + shape.weight_offset(map);
  }
  KOKKOS_INLINE_FUNCTION const Scalar *bias(const Block &k, int map) const
  {
    return k.base + layout.params + shape.bias_offset(map);
  }
  KOKKOS_INLINE_FUNCTION const Scalar *Wt(const Block &k, int map) const
  {
    std::int64_t off = 0;
    for (int i = 0; i < map; ++i)
      off += std::int64_t(node(i)) * node(i + 1);
    return k.base + layout.transposed + off;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const member_type &team) const
  {
    scratch_view scratch(team.team_scratch(level), layout.total);
    Scalar *const base = scratch.data();
    Scalar *const P = base + layout.params, *const PT = base + layout.transposed, *const dP = base + layout.grad;
    const int maps = shape.maps();
    const std::int64_t count = shape.param_count();

    // zeroed scratch (gradient accumulators; finite values wherever a tile over-reads),
    // then the weights and their transposes
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, layout.total), [&](std::int64_t i) { base[i] = 0; });
    team.team_barrier();
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, count), [&](std::int64_t i) { P[i] = params(i); });
    std::int64_t toff = 0;
    for (int k = 0; k < maps; ++k)
    {
      const int rows = node(k + 1), cols = node(k);
      const Scalar *Wk = params.data() + shape.weight_offset(k);
      Scalar *Wk_t = PT + toff;
      impl::team_for_each<Path>(
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
      const Block k{base, mb, interior ? mb : 0, interior ? dirs * mb : 0};
      if (interior)
        sum_interior += interior_block(team, k, c0);
      else
        sum_boundary += boundary_block(team, k, c0);
    }

    if (evaluate_only)
      return;
    // the team's gradient and loss sums out
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
    impl::team_for_each<Path>(team, in, mb, [&](int r, int c) { u[r + c * in] = input(r, c0 + c); });
    team.team_barrier();
    for (int map = 0; map < L; ++map)
    {
      const int n = node(map + 1);
      Scalar *z = hidden(k, layout.s1, map + 1), *z2 = hidden(k, layout.s2, map + 1), *h = Hp(k, map + 1);
      const Scalar *b = bias(k, map);
      impl::team_gemm<Path>(team, n, mb, node(map), W(k, map), n, Hp(k, map), 1, node(map), z, n, false);
      team.team_barrier();
      if (k.mt > 0 && dirs > 0)
      {
        Scalar *z3 = hidden(k, layout.s3, map + 1);
        impl::team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    z3[i] = Act::d3(z[i] + b[r]);
                                    Act::eval(z[i] + b[r], h[i], z[i], z2[i]);
                                  });
      }
      else if (k.mt > 0)
        impl::team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    Act::eval(z[i] + b[r], h[i], z[i], z2[i]);
                                  });
      else
        impl::team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    Scalar d2;
                                    Act::eval(z[i] + b[r], h[i], z[i], d2);
                                  });
      team.team_barrier();
    }
    Scalar *y = k.base + layout.y;
    impl::team_gemm<Path>(team, o, mb, node(L), W(k, L), o, Hp(k, L), 1, node(L), y, o, false);
    team.team_barrier();
    const Scalar *bL = bias(k, L);
    Scalar *s = k.base + layout.s;
    const bool quadratic = shape.head == Head::quadratic;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, mb),
                         [&](int c)
                         {
                           Scalar acc = 0;
                           for (int r = 0; r < o; ++r)
                           {
                             y[r + c * o] += bL[r];
                             const Scalar e = u[r + c * in] - y[r + c * o];
                             acc += e * e;
                           }
                           s[c] = quadratic ? acc / 2 : y[c * o];
                         });
    team.team_barrier();
  }

  /// dW_map += D_{map+1} H_mapᵀ over the block's tangent and primal columns (one product),
  /// db_map += Σ_c z̄_{map+1} over its primal columns.
  KOKKOS_INLINE_FUNCTION void add_gradient(const member_type &team, const Block &k, int map) const
  {
    const int rows = node(map + 1), cols = node(map);
    Scalar *dW = k.base + layout.grad + shape.weight_offset(map);
    Scalar *db = k.base + layout.grad + shape.bias_offset(map);
    impl::team_gemm<Path>(team, rows, cols, k.mt + k.md + k.mb, D(k, map + 1), rows, H(k, map), cols, 1, dW, rows,
                          true);
    const Scalar *adj = Dp(k, map + 1);
    if constexpr (Path == impl::TilePath::host_simd) // column by column: the row loop vectorises
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
    impl::team_gemm<Path>(team, n, md + mb, node(L + 1), Wt(k, L), n, Dd(k, L + 1), 1, node(L + 1), hbar, n, false);
    team.team_barrier();
    for (int j = L; j >= 1; --j)
    {
      const Scalar *d1 = hidden(k, layout.s1, j), *q = Q(k, j), *hb = hbar + std::int64_t(n) * md;
      Scalar *zbar = Dp(k, j);
      if (md > 0)
      {
        const Scalar *d2 = hidden(k, layout.s2, j), *g = hidden(k, layout.g, j), *z = Z(k, j);
        Scalar *zeta = Dd(k, j);
        impl::team_for_each<Path>(team, n, mb,
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
        impl::team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    zbar[i] = hb[i] * d1[i] + q[i];
                                  });
      else
        impl::team_for_each<Path>(team, n, mb,
                                  [&](int r, int c)
                                  {
                                    const int i = r + c * n;
                                    zbar[i] = hb[i] * d1[i];
                                  });
      team.team_barrier();
      add_gradient(team, k, j - 1);
      if (j > 1)
        impl::team_gemm<Path>(team, n, md + mb, n, Wt(k, j - 1), n, Dd(k, j), 1, n, hbar, n, false);
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
    impl::team_for_each<Path>(team, in, md,
                              [&](int r, int col)
                              { v[r + col * in] = directions(r, (col / mb) * nt + c0 + col % mb); });
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, mb), [&](int c) { lap[c] = 0; });
    team.team_barrier();
    for (int j = 1; j <= L; ++j)
    {
      const int n = node(j);
      Scalar *z = Z(k, j), *hd = Hd(k, j);
      const Scalar *d1 = hidden(k, layout.s1, j), *d2 = hidden(k, layout.s2, j), *g = hidden(k, layout.g, j);
      impl::team_gemm<Path>(team, n, md, node(j - 1), W(k, j - 1), n, Hd(k, j - 1), 1, node(j - 1), z, n, false);
      team.team_barrier();
      impl::team_for_each<Path>(team, n, md,
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
    if (shape.head == Head::quadratic) // ẏ_k = W ḣ_L,k; + Σ_k |v_x,k − ẏ_k|²
    {
      Scalar *ydot = Z(k, L + 1);
      impl::team_gemm<Path>(team, o, md, node(L), W(k, L), o, Hd(k, L), 1, node(L), ydot, o, false);
      team.team_barrier();
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, mb),
                           [&](int c)
                           {
                             Scalar acc = 0;
                             for (int kk = 0; kk < dirs; ++kk)
                               for (int r = 0; r < d; ++r)
                               {
                                 const Scalar e = v[r + (kk * mb + c) * in] - ydot[r + (kk * mb + c) * o];
                                 acc += e * e;
                               }
                             lap[c] += acc;
                           });
      team.team_barrier();
    }
  }

  /// An interior block: all four sweeps and the seeds; returns its loss terms.
  KOKKOS_INLINE_FUNCTION double interior_block(const member_type &team, const Block &k, int c0) const
  {
    const int L = shape.depth, n = shape.width, in = shape.input_size(), o = shape.output_size(), d = shape.dim;
    const int mb = k.mb;
    const bool quadratic = shape.head == Head::quadratic;
    forward(team, k, c0);
    const Scalar *u = Hp(k, 0), *y = k.base + layout.y;

    // input gradient: δ_{L+1} = ∂s/∂y, ḡ_L = W_Lᵀ δ_{L+1}, δ_l = ḡ_l ⊙ σ'(z_l), ḡ_{l−1} = W_{l−1}ᵀ δ_l
    Scalar *dy = D(k, L + 1);
    impl::team_for_each<Path>(
        team, o, mb, [&](int r, int c) { dy[r + c * o] = quadratic ? y[r + c * o] - u[r + c * in] : Scalar(1); });
    team.team_barrier();
    impl::team_gemm<Path>(team, n, mb, o, Wt(k, L), n, dy, 1, o, hidden(k, layout.g, L), n, false);
    team.team_barrier();
    for (int j = L; j >= 1; --j)
    {
      const Scalar *g = hidden(k, layout.g, j), *d1 = hidden(k, layout.s1, j);
      Scalar *delta = D(k, j);
      impl::team_for_each<Path>(team, n, mb,
                                [&](int r, int c)
                                {
                                  const int i = r + c * n;
                                  delta[i] = g[i] * d1[i];
                                });
      team.team_barrier();
      Scalar *below = j > 1 ? hidden(k, layout.g, j - 1) : k.base + layout.g0;
      impl::team_gemm<Path>(team, node(j - 1), mb, n, Wt(k, j - 1), node(j - 1), delta, 1, n, below, node(j - 1),
                            false);
      team.team_barrier();
    }
    Scalar *g0 = k.base + layout.g0;
    if (quadratic)
    {
      impl::team_for_each<Path>(team, d, mb, [&](int r, int c) { g0[r + c * in] += u[r + c * in] - y[r + c * o]; });
      team.team_barrier();
    }
    Scalar *lap = k.base + layout.lap, *clap = k.base + layout.clap;
    if (dirs > 0)
      curvature(team, k, c0);

    const Scalar *s = k.base + layout.s;
    if (evaluate_only)
    {
      const bool want_s = out.value.extent(0) > 0, want_g = out.gradient.extent(1) > 0,
                 want_lap = out.curvature.extent(0) > 0;
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, mb),
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
      return 0;
    }

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
      impl::team_gemm<Path>(team, n, mb, node(j - 1), W(k, j - 1), n, H(k, j - 1), 1, node(j - 1), zdot, n, false);
      team.team_barrier();
      const Scalar *d1 = hidden(k, layout.s1, j), *d2 = hidden(k, layout.s2, j);
      Scalar *hd = H(k, j), *g = hidden(k, layout.g, j);
      if (dirs > 0)
      {
        const Scalar *d3 = hidden(k, layout.s3, j), *z = Z(k, j);
        Scalar *q = Q(k, j);
        impl::team_for_each<Path>(team, n, mb,
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
        impl::team_for_each<Path>(team, n, mb,
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
    if (quadratic)
    {
      impl::team_gemm<Path>(team, o, mb, n, W(k, L), o, H(k, L), 1, n, ydot, o, false);
      team.team_barrier();
    }
    // reverse seed ȳ = c_s ∂φ/∂y + ∂ṡ/∂y
    impl::team_for_each<Path>(team, o, mb,
                              [&](int r, int c)
                              {
                                const int i = r + c * o;
                                ybar[i] =
                                    quadratic ? -cs[c] * (u[r + c * in] - y[i]) - (a0[r + c * in] - ydot[i]) : cs[c];
                              });
    if (dirs > 0) // the directions' output adjoints: ∂(clap Σ_k |v_x,k − ẏ_k|²)/∂ẏ_k, or 0 (s = y)
    {
      Scalar *zeta = Dd(k, L + 1);
      const Scalar *v = Hd(k, 0), *yk = Z(k, L + 1);
      impl::team_for_each<Path>(team, o, k.md,
                                [&](int r, int col)
                                {
                                  const int c = col % mb;
                                  zeta[r + col * o] =
                                      quadratic ? -2 * clap[c] * (v[r + col * in] - yk[r + col * o]) : Scalar(0);
                                });
    }
    team.team_barrier();
    reverse(team, k);
    return loss;
  }

  /// A boundary block: forward, value seeds, reverse; returns its loss terms.
  KOKKOS_INLINE_FUNCTION double boundary_block(const member_type &team, const Block &k, int c0) const
  {
    const int in = shape.input_size(), o = shape.output_size(), L = shape.depth;
    const bool quadratic = shape.head == Head::quadratic;
    forward(team, k, c0);
    const Scalar *u = Hp(k, 0), *y = k.base + layout.y, *s = k.base + layout.s;
    Scalar *ybar = Dp(k, L + 1), *cs = k.base + layout.cs;
    double loss = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(team, k.mb),
        [&](int c, double &acc) { acc += double(seeds.boundary(c0 + c, s[c], cs[c])); }, loss);
    team.team_barrier();
    impl::team_for_each<Path>(team, o, k.mb,
                              [&](int r, int c)
                              {
                                const int i = r + c * o;
                                ybar[i] = quadratic ? -cs[c] * (u[r + c * in] - y[i]) : cs[c];
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
} // namespace detail

/// Whether the fused kernel is the faster engine for `shape` here (measured with
/// `amk bench --engine` on a 2-core AVX-512 Xeon, README "Performance"): with threads
/// (OpenMP) it beats library GEMMs up to width 256, where one team's working set still
/// sits in a core's L2; on GPUs it is meant for width ≤ 128, where GEMMs are
/// latency-bound. One host thread (Serial) races the GEMM engine's threaded BLAS: there
/// the fused kernel wins only at width ≤ 64, with 256-bit or wider SIMD.
template <class Scalar, class ExecutionSpace> bool fused_suits(const MlpShape &shape)
{
  const std::size_t bytes = detail::FusedScratch(shape, detail::default_block, sizeof(Scalar)).total * sizeof(Scalar);
  if (bytes > (std::size_t(4) << 20))
    return false;
  if (!impl::is_host_space<ExecutionSpace>)
    return shape.width <= 128;
  if (ExecutionSpace().concurrency() > 1)
    return shape.width <= 256;
  return shape.width <= 64 && impl::simd_bytes >= 32;
}

/// Whether one team's buffers for `directions` curvature directions stay within 4 MB (a
/// core's L2 share here; the plain step's measured limit of fused_suits).
template <class Scalar, class ExecutionSpace> bool fused_fits(const MlpShape &shape, int directions)
{
  return detail::FusedScratch(shape, detail::block_for(directions), sizeof(Scalar), directions).total *
             sizeof(Scalar) <=
         (std::size_t(4) << 20);
}

/// \tparam Path the team kernels' code: the back end's own by default; tests also run the
///              portable (GPU) path on host back ends.
template <class Scalar, class ExecutionSpace, class Loss,
          impl::TilePath Path = impl::default_tile_path<ExecutionSpace>>
class FusedEngine final : public Engine<Scalar, ExecutionSpace, Loss>
{
  using Base = Engine<Scalar, ExecutionSpace, Loss>;
  using Base::m_np;
  using Base::m_nt;
  using Base::m_shape;

public:
  using matrix = Matrix<Scalar, ExecutionSpace>;
  using vector = Vector<Scalar, ExecutionSpace>;
  using typename Base::matrix_ref;

  static constexpr int default_block = detail::default_block;

  /// \param block [in] samples per team block (0: default_block)
  /// \param slots [in] most concurrent teams, each with its own gradient (0: the back end's
  ///                  concurrency / team size)
  FusedEngine(const ExecutionSpace &space, const MlpShape &shape, const Capacity &capacity, int block = 0,
              int slots = 0)
      : Base(shape, capacity), m_block(block > 0 ? block : detail::block_for(capacity.directions)),
        m_layout(shape, m_block, sizeof(Scalar), capacity.directions)
  {
    const int max_tangent = capacity.max_tangent, max_primal = capacity.max_primal;
    const int max_blocks = (max_tangent + m_block - 1) / m_block + (max_primal - max_tangent + m_block - 1) / m_block;
    // host SIMD tiles: one thread per team; portable tiles: up to 128 threads (a host back
    // end's threads, in tests), fewer where the kernel's registers or the back end allow less
    m_team_size = Path == impl::TilePath::host_simd
                      ? 1
                      : (impl::is_host_space<ExecutionSpace> ? std::min(128, ExecutionSpace().concurrency()) : 128);
    const int concurrency = slots > 0 ? slots : ExecutionSpace().concurrency() / m_team_size;
    m_slots = std::max(1, std::min(max_blocks, concurrency));
    const std::int64_t bytes = scratch_bytes();
    m_level = bytes <= std::int64_t(Kokkos::TeamPolicy<ExecutionSpace>::scratch_size_max(0)) ? 0 : 1;
    require(bytes <= std::int64_t(Kokkos::TeamPolicy<ExecutionSpace>::scratch_size_max(m_level)),
            "FusedEngine: the network is too large for one team's scratch memory (use --engine gemm)");
    m_input = uninitialized<matrix>(space, "amk::FusedEngine::input", shape.input_size(), max_primal);
    if (capacity.directions > 0)
      m_directions = uninitialized<matrix>(space, "amk::FusedEngine::directions", shape.input_size(),
                                           std::int64_t(capacity.directions) * max_tangent);
    if (m_slots > 1)
      m_slot_grad = uninitialized<matrix>(space, "amk::FusedEngine::slot_grad", shape.param_count(), m_slots);
    m_slot_sums =
        Kokkos::View<double **, typename ExecutionSpace::memory_space>("amk::FusedEngine::slot_sums", m_slots, 2);
    m_host_sums = Kokkos::create_mirror_view(m_slot_sums);
  }

  /// Bytes of team scratch memory per team (weights, their transposes, gradient, block).
  std::int64_t scratch_bytes() const { return m_layout.total * std::int64_t(sizeof(Scalar)); }
  const char *name() const override { return "fused"; }
  int slots() const { return m_slots; }
  int block() const { return m_block; }

  matrix_ref input() const override { return Base::block(m_input, 0, m_np); }
  matrix_ref direction_input() const override
  {
    return Base::block(m_directions, 0, std::int64_t(m_nt) * this->directions());
  }

  ColumnSums gradient(const ExecutionSpace &space, const vector &params, const Loss &loss,
                      const vector &grad) override
  {
    Region region("amk::FusedEngine::gradient");
    launch(space, params, loss, grad, Evaluation<Scalar, ExecutionSpace>(), false);
    if (m_slots > 1)
      Kokkos::parallel_for("amk::FusedEngine::sum_slots", policy(space, m_shape.param_count()),
                           detail::SumSlots<Scalar, ExecutionSpace>{m_slot_grad, grad});
    Kokkos::deep_copy(space, m_host_sums, m_slot_sums);
    space.fence();
    ColumnSums sums;
    for (int s = 0; s < m_slots; ++s)
    {
      sums.interior += m_host_sums(s, 0);
      sums.boundary += m_host_sums(s, 1);
    }
    return sums;
  }

  void evaluate(const ExecutionSpace &space, const vector &params,
                const Evaluation<Scalar, ExecutionSpace> &out) override
  {
    Region region("amk::FusedEngine::evaluate");
    require(m_nt == m_np, "FusedEngine::evaluate: every column must be interior (set_batch(n, n))");
    require(out.curvature.extent(0) == 0 || this->directions() > 0, "FusedEngine::evaluate: no curvature directions");
    launch(space, params, Loss(), vector(), out, true);
  }

private:
  void launch(const ExecutionSpace &space, const vector &params, const Loss &loss, const vector &grad,
              const Evaluation<Scalar, ExecutionSpace> &out, bool evaluate_only)
  {
    const int interior_blocks = (m_nt + m_block - 1) / m_block;
    const int blocks = interior_blocks + (m_np - m_nt + m_block - 1) / m_block;
    visit(m_shape.activation,
          [&](auto act)
          {
            using Step = detail::FusedStep<Scalar, ExecutionSpace, decltype(act), Loss, Path>;
            Step step{m_shape,  m_layout,     m_level, m_block, m_nt,          m_np,        interior_blocks,
                      blocks,   m_slots,      this->directions(), params, m_input, m_directions, loss,
                      out,      evaluate_only, m_slot_grad,        grad,   m_slot_sums};
            int team_size = m_team_size; // portable: as many threads as the kernel's registers allow
            if (Path == impl::TilePath::portable)
              team_size = std::min(
                  team_size,
                  Kokkos::TeamPolicy<ExecutionSpace>(space, m_slots, 1).team_size_max(step, Kokkos::ParallelForTag()));
            Kokkos::TeamPolicy<ExecutionSpace> team_policy(space, m_slots, team_size);
            Kokkos::parallel_for("amk::FusedEngine::step",
                                 team_policy.set_scratch_size(m_level, Kokkos::PerTeam(int(scratch_bytes()))), step);
          });
  }

  int m_block;
  detail::FusedScratch m_layout;
  int m_team_size = 1, m_slots = 1, m_level = 0;
  matrix m_input, m_directions, m_slot_grad;
  Kokkos::View<double **, typename ExecutionSpace::memory_space> m_slot_sums;
  typename Kokkos::View<double **, typename ExecutionSpace::memory_space>::HostMirror m_host_sums;
};
} // namespace amk::nn
