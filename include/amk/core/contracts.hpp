#pragma once
// Compile-time contracts of amk's public templates, as Kokkos Kernels states its own: a
// wrong instantiation fails at once with a message naming the template or function, not
// pages deep inside a kernel. (tests/compile_fail checks each message.)
#include <Kokkos_Core.hpp>
#include <type_traits>

namespace amk
{
/// The scalar types amk's kernels, checkpoints and BLAS calls are written for.
template <class T> inline constexpr bool is_scalar_v = std::is_same_v<T, float> || std::is_same_v<T, double>;
} // namespace amk

/// WHERE's ExecutionSpace is a Kokkos execution space.
#define AMK_CHECK_SPACE(ExecutionSpace, WHERE)                                                                         \
  static_assert(Kokkos::is_execution_space<ExecutionSpace>::value,                                                     \
                WHERE ": ExecutionSpace must be a Kokkos execution space (Kokkos::Serial, OpenMP, Cuda, HIP, ...), "   \
                      "not a memory space")

/// WHERE's Scalar is float or double and its ExecutionSpace a Kokkos execution space.
#define AMK_CHECK_SCALAR_AND_SPACE(Scalar, ExecutionSpace, WHERE)                                                     \
  static_assert(::amk::is_scalar_v<Scalar>, WHERE ": Scalar must be float or double");                                \
  AMK_CHECK_SPACE(ExecutionSpace, WHERE)

/// WHERE's argument NAME (of type View) is a Kokkos::View that ExecutionSpace can access.
#define AMK_CHECK_VIEW_ACCESS(View, ExecutionSpace, WHERE, NAME)                                                      \
  static_assert(Kokkos::is_view<View>::value, WHERE ": " NAME " must be a Kokkos::View");                              \
  static_assert(Kokkos::SpaceAccessibility<ExecutionSpace, typename View::memory_space>::accessible,                  \
                WHERE ": " NAME "'s memory space is not accessible from the execution space")

/// WHERE's argument NAME is column-major (LayoutLeft: one column per sample, BLAS' layout).
#define AMK_CHECK_LAYOUT_LEFT(View, WHERE, NAME)                                                                       \
  static_assert(std::is_same_v<typename View::array_layout, Kokkos::LayoutLeft>,                                       \
                WHERE ": " NAME " must be LayoutLeft (column-major, one column per sample)")
