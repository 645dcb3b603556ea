#pragma once
// Team-level building blocks of the fused MLP kernel (FusedEngine): a small matrix product
// over team scratch memory, register-tiled so that each thread of the team owns tiles of
// the result, and an elementwise loop over a (rows × columns) block.
// On host back ends the team is one thread and a tile is RT rows × CT columns held in
// SIMD registers (RT = two SIMD vectors): the loops over the tile's rows vectorise.
#include <amk/core/types.hpp>

namespace amk::impl
{
/// Bytes of one SIMD register of the ISA this translation unit is compiled for.
#if defined(__AVX512F__)
inline constexpr int simd_bytes = 64;
#elif defined(__AVX__)
inline constexpr int simd_bytes = 32;
#else
inline constexpr int simd_bytes = 16;
#endif

template <class Exec>
inline constexpr bool is_host_space =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename Exec::memory_space>::accessible;

/// Which code the team kernels run. host_simd: one thread per team, tiles in SIMD registers
/// (host back ends). portable: scalar tiles spread over the team's threads, the code GPUs
/// run; it runs on host back ends too, which is how the tests exercise it without a GPU.
enum class TilePath
{
  host_simd,
  portable
};
template <class Exec>
inline constexpr TilePath default_tile_path = is_host_space<Exec> ? TilePath::host_simd : TilePath::portable;

/// Tile of the team matrix product: host tiles are 2 SIMD registers × 8 columns (16
/// accumulators); portable (GPU) threads take 4 × 4 tiles (16 registers, many per team).
template <class T, TilePath Path> struct Tile
{
  static constexpr int rows = Path == TilePath::host_simd ? int(2 * simd_bytes / sizeof(T)) : 4;
  static constexpr int cols = Path == TilePath::host_simd ? 8 : 4;
};

/// One full RT × CT tile: C = [C +] Σ_k A(:, k) B(k, :), with B(k, j) = b[k·bk + j·bj]
/// (scalar form: GPU threads, and host compilers without vector extensions).
template <int RT, int CT, class T>
KOKKOS_FORCEINLINE_FUNCTION void tile_full(int K, const T *A, int lda, const T *b, int bk, int bj, T *C, int ldc,
                                           bool accumulate)
{
  T acc[CT][RT];
  for (int j = 0; j < CT; ++j)
    for (int r = 0; r < RT; ++r)
      acc[j][r] = accumulate ? C[r + j * ldc] : T(0);
  for (int k = 0; k < K; ++k)
  {
    const T *a = A + std::int64_t(k) * lda;
    for (int j = 0; j < CT; ++j)
    {
      const T bv = b[std::int64_t(k) * bk + std::int64_t(j) * bj];
      for (int r = 0; r < RT; ++r)
        acc[j][r] += a[r] * bv;
    }
  }
  for (int j = 0; j < CT; ++j)
    for (int r = 0; r < RT; ++r)
      C[r + j * ldc] = acc[j][r];
}

#if defined(__GNUC__) && !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__)
#define AMK_HOST_VECTOR_TILES 1
/// One SIMD register of T (GCC/Clang vector extension): host tiles are written with it, so
/// that the vectorisation runs along the tile's rows whatever the compiler's cost model says
/// (GCC's SLP vectoriser otherwise picks the 4 columns and shuffles, 6× slower at SSE2).
template <class T> struct HostSimd;
template <> struct HostSimd<float>
{
  typedef float type __attribute__((vector_size(simd_bytes)));
};
template <> struct HostSimd<double>
{
  typedef double type __attribute__((vector_size(simd_bytes)));
};

/// A host tile of mr ≤ NV·W rows and NC columns: C = [C +] Σ_k A(:, k) B(k, :) with NV·NC
/// SIMD accumulators. Partial row tiles read A up to a whole register past row mr (the
/// operands live in team scratch, which ends with a zeroed tail for this) and store only
/// mr rows.
template <int NV, int NC, class T>
inline __attribute__((always_inline)) void host_tile(int mr, int K, const T *A, int lda, const T *b, int bk, int bj,
                                                     T *C, int ldc, bool accumulate)
{
  using vec = typename HostSimd<T>::type;
  constexpr int W = int(sizeof(vec) / sizeof(T));
  const int tail = mr - (NV - 1) * W; // rows in the last register, 1 … W
  vec acc[NC][NV];
  for (int j = 0; j < NC; ++j)
    for (int v = 0; v < NV; ++v)
    {
      acc[j][v] = vec{};
      if (accumulate)
        __builtin_memcpy(&acc[j][v], C + v * W + j * ldc, (v < NV - 1 ? W : tail) * sizeof(T));
    }
  for (int k = 0; k < K; ++k)
  {
    const T *a = A + std::int64_t(k) * lda;
    vec av[NV];
    for (int v = 0; v < NV; ++v)
      __builtin_memcpy(&av[v], a + v * W, sizeof(vec));
    for (int j = 0; j < NC; ++j)
    {
      const T bv = b[std::int64_t(k) * bk + std::int64_t(j) * bj];
      for (int v = 0; v < NV; ++v)
        acc[j][v] += av[v] * bv;
    }
  }
  for (int j = 0; j < NC; ++j)
    for (int v = 0; v < NV; ++v)
      __builtin_memcpy(C + v * W + j * ldc, &acc[j][v], (v < NV - 1 ? W : tail) * sizeof(T));
}

/// Picks the host tile with just enough registers for mr rows and nc columns.
template <int NV, int NC, class T>
inline __attribute__((always_inline)) void host_tile_any(int mr, int nc, int K, const T *A, int lda, const T *b, int bk,
                                                         int bj, T *C, int ldc, bool accumulate)
{
  constexpr int W = int(sizeof(typename HostSimd<T>::type) / sizeof(T));
  if constexpr (NV > 1)
    if (mr <= (NV - 1) * W)
      return host_tile_any<NV - 1, NC>(mr, nc, K, A, lda, b, bk, bj, C, ldc, accumulate);
  if constexpr (NC > 1)
    if (nc < NC)
      return host_tile_any<NV, NC - 1>(mr, nc, K, A, lda, b, bk, bj, C, ldc, accumulate);
  host_tile<NV, NC>(mr, K, A, lda, b, bk, bj, C, ldc, accumulate);
}
#endif

/// A partial tile (mr ≤ RT rows, nc ≤ CT columns) at the matrix' edges.
template <int RT, int CT, class T>
KOKKOS_INLINE_FUNCTION void tile_edge(int mr, int nc, int K, const T *A, int lda, const T *b, int bk, int bj, T *C,
                                      int ldc, bool accumulate)
{
  for (int j = 0; j < nc; ++j)
  {
    T acc[RT];
    for (int r = 0; r < mr; ++r)
      acc[r] = accumulate ? C[r + j * ldc] : T(0);
    for (int k = 0; k < K; ++k)
    {
      const T bv = b[std::int64_t(k) * bk + std::int64_t(j) * bj];
      const T *a = A + std::int64_t(k) * lda;
      for (int r = 0; r < mr; ++r)
        acc[r] += a[r] * bv;
    }
    for (int r = 0; r < mr; ++r)
      C[r + j * ldc] = acc[r];
  }
}

/// C (M × N, column-major, ldc) = [C +] A (M × K, column-major, lda) · B with
/// B(k, j) = b[k·bk + j·bj]: bk = 1, bj = K is a column-major B; bk = N, bj = 1 is the
/// transpose of a column-major (N × K) matrix (the weight gradient's Σ_c z̄_c h_cᵀ).
/// Each team thread computes whole tiles; no barrier inside. On host back ends all operands
/// must lie in team scratch with a readable tail of one tile's rows (see host_tile).
template <TilePath Path, class Member, class T>
KOKKOS_INLINE_FUNCTION void team_gemm(const Member &team, int M, int N, int K, const T *A, int lda, const T *b, int bk,
                                      int bj, T *C, int ldc, bool accumulate)
{
  constexpr int RT = Tile<T, Path>::rows, CT = Tile<T, Path>::cols;
  const int row_tiles = (M + RT - 1) / RT, col_tiles = (N + CT - 1) / CT;
  Kokkos::parallel_for(Kokkos::TeamThreadRange(team, row_tiles * col_tiles),
                       [&](int tile)
                       {
                         const int r0 = (tile / col_tiles) * RT, c0 = (tile % col_tiles) * CT;
                         const int mr = M - r0 < RT ? M - r0 : RT, nc = N - c0 < CT ? N - c0 : CT;
                         const T *a = A + r0;
                         const T *bb = b + std::int64_t(c0) * bj;
                         T *c = C + r0 + std::int64_t(c0) * ldc;
#ifdef AMK_HOST_VECTOR_TILES
                         if constexpr (Path == TilePath::host_simd)
                         {
                           constexpr int NV = RT / int(sizeof(typename HostSimd<T>::type) / sizeof(T));
                           host_tile_any<NV, CT>(mr, nc, K, a, lda, bb, bk, bj, c, ldc, accumulate);
                           return;
                         }
#endif
                         if (mr == RT && nc == CT)
                           tile_full<RT, CT>(K, a, lda, bb, bk, bj, c, ldc, accumulate);
                         else
                           tile_edge<RT, CT>(mr, nc, K, a, lda, bb, bk, bj, c, ldc, accumulate);
                       });
}

/// f(r, c) over a (rows × cols) block: host_simd a column at a time (the loop over rows
/// vectorises), portable one flat range over the team's threads.
template <TilePath Path, class Member, class F>
KOKKOS_INLINE_FUNCTION void team_for_each(const Member &team, int rows, int cols, const F &f)
{
  if constexpr (Path == TilePath::host_simd)
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, cols),
                         [&](int c)
                         {
                           for (int r = 0; r < rows; ++r)
                             f(r, c);
                         });
  else
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, rows * cols), [&](int i) { f(i % rows, i / rows); });
}
} // namespace amk::impl
