#pragma once
// Threads per process. With several ranks on a node (flat MPI: one rank per core is how the
// Serial build uses every core) each rank's OpenBLAS and, in an OpenMP build, each rank's Kokkos
// would otherwise start a thread per core it may run on, and unbound ranks' threads would fight
// for the cores. OpenBLAS is reached through its run-time symbols (dlsym), so amk links only the
// generic BLAS that Kokkos Kernels uses.
#include <amk/dist/comm.hpp>
#include <string>
#include <vector>

namespace amk::app
{
/// The BLAS's threads (OpenBLAS), or 0 when the BLAS does not say.
int blas_threads();

/// How the BLAS threads: "sequential", "pthreads", "openmp" (OpenBLAS's build), or "" when the
/// BLAS does not say.
const char *blas_threading();

/// One line for stderr when Kokkos runs on OpenMP threads and the BLAS on its own pthreads (the
/// two sets of threads then fight for the cores: a step up to 4x slower), else "".
std::string blas_pairing_warning();

/// Kokkos arguments for this rank of an OpenMP build under MPI with several ranks on this node,
/// when neither the user (--kokkos-threads, --kokkos-num-threads, OMP_NUM_THREADS) nor the
/// launcher's binding has set the threads: --kokkos-num-threads=min(the cores this rank may run
/// on, max(1, the node's cores / its ranks)), and with more ranks than cores Kokkos' warnings off
/// (it would warn of the launcher's oversubscription once per rank). Collective (every rank
/// calls it), before Kokkos starts.
std::vector<std::string> kokkos_thread_arguments(const dist::Comm &comm, bool user_set);

/// Under MPI with several ranks on this node and no thread count set by the user
/// (OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS, OMP_NUM_THREADS): the BLAS threads become
/// max(1, its threads / ranks on the node). Collective (every rank calls it).
void share_blas_threads(const dist::Comm &comm);
} // namespace amk::app
