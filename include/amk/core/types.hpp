#pragma once
// Common aliases. Matrices that feed KokkosBlas::gemm are LayoutLeft (column-major, BLAS'
// native layout): one column per sample, so a sample's activation vector is contiguous.
#include <amk/core/kokkos_compat.hpp>
#include <cstdint>
#include <string>

namespace amk
{
using DefaultExec = Kokkos::DefaultExecutionSpace;

template <class Scalar, class ExecutionSpace>
using Matrix = Kokkos::View<Scalar **, Kokkos::LayoutLeft, typename ExecutionSpace::memory_space>;

template <class Scalar, class ExecutionSpace>
using Vector = Kokkos::View<Scalar *, typename ExecutionSpace::memory_space>;

/// Unmanaged column-major matrix over memory owned elsewhere (per-layer weight blocks of
/// the one flat parameter View).
template <class Scalar, class ExecutionSpace>
using MatrixRef = Kokkos::View<Scalar **, Kokkos::LayoutLeft, typename ExecutionSpace::memory_space,
                               Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

template <class Scalar, class ExecutionSpace>
using VectorRef =
    Kokkos::View<Scalar *, typename ExecutionSpace::memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

/// Columns [begin, end) of a column-major matrix (still LayoutLeft, still contiguous).
template <class View> auto columns(const View &m, std::int64_t begin, std::int64_t end)
{
  return Kokkos::subview(m, Kokkos::ALL(), Kokkos::make_pair(begin, end));
}

/// A View of type V allocated on `space`'s memory without initialisation, labelled.
template <class V, class ExecutionSpace, class... Dims>
V uninitialized(const ExecutionSpace &space, const std::string &label, Dims... dims)
{
  return V(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, label), dims...);
}

/// A View of type V allocated and zeroed on `space`, labelled.
template <class V, class ExecutionSpace, class... Dims>
V zeroed(const ExecutionSpace &space, const std::string &label, Dims... dims)
{
  return V(Kokkos::view_alloc(space, label), dims...);
}

/// The index range [0, n) on instance `space`.
template <class ExecutionSpace> Kokkos::RangePolicy<ExecutionSpace> policy(const ExecutionSpace &space, std::int64_t n)
{
  return Kokkos::RangePolicy<ExecutionSpace>(space, 0, n);
}
} // namespace amk
