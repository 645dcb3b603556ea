#pragma once
// Where one team of the fused kernel (FusedEngine) keeps everything in its scratch memory:
// the weights, their transposes (so that every team product is a W·B product), a private
// gradient, and one block of samples' buffers for every sweep.
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
struct FusedScratch
{
  std::int64_t params = 0, transposed = 0, grad = 0, h = 0, d = 0, dout = 0, s1 = 0, s2 = 0, s3 = 0, g = 0, q = 0,
               z = 0, g0 = 0, y = 0, ydot = 0, hbar = 0, cs = 0, s = 0, lap = 0, clap = 0, total = 0;

  FusedScratch(const nn::MlpShape &shape, int block, int scalar_bytes, int dirs = 0)
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

} // namespace amk::impl
