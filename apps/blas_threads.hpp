#pragma once
// The BLAS library's threads per process. With several ranks on a node (flat MPI: one rank
// per core is how the Serial build uses every core), each rank's OpenBLAS would otherwise
// start a thread per core and the ranks' threads would fight for the cores. OpenBLAS is reached through its run-time
// symbols (dlsym), so amk links only the generic BLAS that Kokkos Kernels uses.
#include <amk/dist/comm.hpp>

namespace amk::app
{
/// The BLAS's threads (OpenBLAS), or 0 when the BLAS does not say.
int blas_threads();

/// Under MPI with several ranks on this node and no thread count set by the user
/// (OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS, OMP_NUM_THREADS): the BLAS threads become
/// max(1, its threads / ranks on the node). Collective (every rank calls it).
void share_blas_threads(const dist::Comm &comm);
} // namespace amk::app
