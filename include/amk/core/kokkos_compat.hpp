#pragma once
// Shims over the differences between Kokkos 3.4 (Debian) and Kokkos 4.x, so that the rest
// of amk is written once (cf. ArborX's kokkos_ext/).
#include <Kokkos_Core.hpp>
#include <KokkosBlas2_gemv.hpp>
#include <KokkosBlas3_gemm.hpp>

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
} // namespace math

/// C = beta*C + alpha*op(A)*op(B) on the instance `space` (Kokkos Kernels 3.4 has no
/// instance overload: there the call runs on the default instance, which is the same
/// thing on host backends).
template <class ExecutionSpace, class AView, class BView, class CView>
void gemm(const ExecutionSpace &space, const char *transA, const char *transB,
          typename CView::const_value_type alpha, const AView &A, const BView &B,
          typename CView::const_value_type beta, const CView &C)
{
#if KOKKOS_VERSION >= 40000
  KokkosBlas::gemm(space, transA, transB, alpha, A, B, beta, C);
#else
  (void)space;
  KokkosBlas::gemm(transA, transB, alpha, A, B, beta, C);
#endif
}

/// y = beta*y + alpha*op(A)*x on the instance `space` (same caveat as gemm).
template <class ExecutionSpace, class AView, class XView, class YView>
void gemv(const ExecutionSpace &space, const char *trans, typename YView::const_value_type alpha,
          const AView &A, const XView &x, typename YView::const_value_type beta, const YView &y)
{
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
