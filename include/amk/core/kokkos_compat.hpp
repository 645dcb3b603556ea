#pragma once
// Shims over the differences between Kokkos 3.4 (Debian) and Kokkos 4.x, so that the rest
// of amk is written once (cf. ArborX's kokkos_ext/).
#include <KokkosBlas2_gemv.hpp>
#include <KokkosBlas3_gemm.hpp>
#include <amk/core/contracts.hpp>
#include <Kokkos_Core.hpp>
#include <cstdint>
#include <cstring>

namespace amk
{
namespace math
{
#if KOKKOS_VERSION >= 30700
using Kokkos::cos;
using Kokkos::erf;
using Kokkos::exp;
using Kokkos::floor;
using Kokkos::log;
using Kokkos::log1p;
using Kokkos::sin;
using Kokkos::sqrt;
using Kokkos::tanh;
#else
using Kokkos::Experimental::cos;
using Kokkos::Experimental::erf;
using Kokkos::Experimental::exp;
using Kokkos::Experimental::floor;
using Kokkos::Experimental::log;
using Kokkos::Experimental::log1p;
using Kokkos::Experimental::sin;
using Kokkos::Experimental::sqrt;
using Kokkos::Experimental::tanh;
#endif

/// e^x. For float, Cephes' expf (Cody–Waite reduction, degree-6 polynomial; relative error
/// within a few ulp) written without libm calls or float branches, so that the elementwise
/// kernels vectorise on CPUs even at the baseline ISA (2.6× faster than a libm expf call per
/// element, measured on this project's 2-core Xeon). Out of range the exponent saturates:
/// e^x = +inf above ~88.7 and 0 below ~−87.3 (where the true value is subnormal). Double
/// precision (the finite-difference tests) keeps the library exp.
template <class T> KOKKOS_INLINE_FUNCTION T exp_fast(T x) { return exp(x); }

KOKKOS_INLINE_FUNCTION float exp_fast(float x)
{
  // x clamped where the result has saturated (±inf and |x| ≫ 88 from a diverged network give
  // 0 and +inf; NaN stays NaN), so that n fits the exponent and its conversion is defined
  x = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  constexpr float round = 12582912.0f;                        // 1.5·2²³: adding it rounds to an integer
  const float n = (x * 1.44269504088896341f + round) - round; // n = round(x / ln 2)
  float r = x - n * 0.693359375f;                             // r = x − n ln 2 in two parts
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;             // e^r
  std::int32_t e = std::int32_t(n == n ? n : 0.0f) + 127; // biased exponent of 2^n, at most 255 (+inf)
  e = e < 0 ? 0 : e; // below: 0 (integer selects vectorise; float ones would not). NaN: p is NaN
  const std::int32_t bits = e << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
} // namespace math

/// C = beta*C + alpha*op(A)*op(B) on the instance `space` (Kokkos Kernels 3.4 has no
/// instance overload: there the call runs on the default instance, which is the same
/// thing on host backends).
template <class ExecutionSpace, class AView, class BView, class CView>
void gemm(const ExecutionSpace &space, const char *transA, const char *transB, typename CView::const_value_type alpha,
          const AView &A, const BView &B, typename CView::const_value_type beta, const CView &C)
{
  AMK_CHECK_VIEW_ACCESS(AView, ExecutionSpace, "amk::gemm", "A");
  AMK_CHECK_VIEW_ACCESS(BView, ExecutionSpace, "amk::gemm", "B");
  AMK_CHECK_VIEW_ACCESS(CView, ExecutionSpace, "amk::gemm", "C");
  AMK_CHECK_LAYOUT_LEFT(AView, "amk::gemm", "A");
  AMK_CHECK_LAYOUT_LEFT(BView, "amk::gemm", "B");
  AMK_CHECK_LAYOUT_LEFT(CView, "amk::gemm", "C");
  static_assert(is_scalar_v<typename CView::non_const_value_type> &&
                    std::is_same_v<typename AView::non_const_value_type, typename CView::non_const_value_type> &&
                    std::is_same_v<typename BView::non_const_value_type, typename CView::non_const_value_type>,
                "amk::gemm: A, B and C must hold the same scalar, float or double");
#if KOKKOS_VERSION >= 40000
  KokkosBlas::gemm(space, transA, transB, alpha, A, B, beta, C);
#else
  (void)space;
  KokkosBlas::gemm(transA, transB, alpha, A, B, beta, C);
#endif
}

/// y = beta*y + alpha*op(A)*x on the instance `space` (same caveat as gemm).
template <class ExecutionSpace, class AView, class XView, class YView>
void gemv(const ExecutionSpace &space, const char *trans, typename YView::const_value_type alpha, const AView &A,
          const XView &x, typename YView::const_value_type beta, const YView &y)
{
  AMK_CHECK_VIEW_ACCESS(AView, ExecutionSpace, "amk::gemv", "A");
  AMK_CHECK_VIEW_ACCESS(XView, ExecutionSpace, "amk::gemv", "x");
  AMK_CHECK_VIEW_ACCESS(YView, ExecutionSpace, "amk::gemv", "y");
  AMK_CHECK_LAYOUT_LEFT(AView, "amk::gemv", "A");
  static_assert(is_scalar_v<typename YView::non_const_value_type> &&
                    std::is_same_v<typename AView::non_const_value_type, typename YView::non_const_value_type>,
                "amk::gemv: A, x and y must hold the same scalar, float or double");
#if KOKKOS_VERSION >= 40000
  KokkosBlas::gemv(space, trans, alpha, A, x, beta, y);
#else
  (void)space;
  KokkosBlas::gemv(trans, alpha, A, x, beta, y);
#endif
}

/// RAII profiling region "amk::…" (shows up in Kokkos Tools timelines).
class Region
{
public:
  explicit Region(const std::string &label) { Kokkos::Profiling::pushRegion(label); }
  ~Region() { Kokkos::Profiling::popRegion(); }
  Region(const Region &) = delete;
  Region &operator=(const Region &) = delete;
};
} // namespace amk
