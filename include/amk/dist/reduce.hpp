#pragma once
// The sum over ranks of a View in the execution space's memory: in place where the MPI
// library can read that memory (the host's, or a GPU's with GPU-aware MPI), else through a
// host staging View allocated once (no allocation per step).
#include <amk/dist/comm.hpp>
#include <Kokkos_Core.hpp>

namespace amk::dist
{
/// Sums v over ranks, through `staging` when it is not empty (staging_for).
template <class View, class Staging> void sum_over_ranks(const Comm &comm, const View &v, const Staging &staging)
{
  if (comm.size() == 1)
    return;
  if (staging.extent(0) == 0)
    comm.sum(v.data(), v.size());
  else
  {
    Kokkos::deep_copy(staging, v);
    comm.sum(staging.data(), staging.size());
    Kokkos::deep_copy(v, staging);
  }
}

/// The host View a sum over ranks of `v` stages through: empty where MPI can read v in place.
template <class View> auto staging_for(const Comm &comm, const View &v)
{
  using Host = Kokkos::View<typename View::non_const_value_type *, Kokkos::HostSpace>;
  constexpr bool host = Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename View::memory_space>::accessible;
  if (host || comm.size() == 1 || Comm::device_aware())
    return Host();
  return Host("amk::staging", v.extent(0));
}
} // namespace amk::dist
