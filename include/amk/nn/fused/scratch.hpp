#pragma once
// Where one team of the fused kernel (FusedEngine) keeps everything in its scratch memory:
// the weights, their transposes (so that every team product is a W·B product), a private
// gradient, and one block of samples' buffers for every sweep. Four groups, each in one of
// the two scratch levels (ScratchPlan): all in one level (the host-shaped fused engine), or
// staged (the GPU-shaped engine): as many groups as fit in level 0 (GPU shared memory),
// weights first, the rest in level 1 (the team's share of global memory).
#include <amk/nn/mlp.hpp>
#include <algorithm>
#include <cstdint>

namespace amk::impl
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
/// Where the scratch groups go: one_level (all in level 0 where they fit, else all in level
/// 1) or staged (weights, block buffers, transposes, gradient into level 0 while they fit).
enum class ScratchPlan
{
  one_level,
  staged
};

/// A scratch group's place: its level and its offset (elements) there.
struct ScratchPlace
{
  int level = 0;
  std::int64_t at = 0;
};

struct FusedScratch
{
  /// the block buffers' regions, as offsets from the buffers group's start
  std::int64_t h = 0, d = 0, dout = 0, s1 = 0, s2 = 0, s3 = 0, g = 0, q = 0, z = 0, g0 = 0, y = 0, ydot = 0,
               hbar = 0, cs = 0, s = 0, lap = 0, clap = 0;
  /// the groups' sizes (elements, padded) and places; each level's total
  std::int64_t params_size = 0, transposed_size = 0, grad_size = 0, buffers_size = 0, total = 0;
  ScratchPlace params, transposed, grad, buffers;
  std::int64_t level_total[2] = {0, 0};

  /// \param level0_elements [in] elements that level 0 holds (the back end's limit)
  FusedScratch(const nn::MlpShape &shape, int block, int scalar_bytes, int dirs = 0,
               ScratchPlan plan = ScratchPlan::one_level, std::int64_t level0_elements = -1)
  {
    measure(shape, block, scalar_bytes, dirs);
    const std::int64_t room = level0_elements < 0 ? total : level0_elements;
    ScratchPlace *order[] = {&params, &buffers, &transposed, &grad};
    const std::int64_t sizes[] = {params_size, buffers_size, transposed_size, grad_size};
    const int one = plan == ScratchPlan::one_level ? (total <= room ? 0 : 1) : -1;
    for (int i = 0; i < 4; ++i)
    {
      const int level = one >= 0 ? one : (level_total[0] + sizes[i] <= room ? 0 : 1);
      *order[i] = ScratchPlace{level, level_total[level]};
      level_total[level] += sizes[i];
    }
  }

  /// Bytes of level `level` for Scalar.
  template <class Scalar> std::int64_t bytes(int level) const { return level_total[level] * std::int64_t(sizeof(Scalar)); }

private:
  void measure(const nn::MlpShape &shape, int block, int scalar_bytes, int dirs)
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
    buffers_size = total;
    auto padded = [&](std::int64_t count) { return (count + pad - 1) / pad * pad; };
    params_size = padded(shape.param_count());
    transposed_size = padded(shape.forward_macs());
    grad_size = padded(shape.param_count() + 64); // its own zeroed tail, for the same reason
    total = buffers_size + params_size + transposed_size + grad_size;
  }
};

} // namespace amk::impl
