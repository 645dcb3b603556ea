#include "threads_per_rank.hpp"
#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>
#include <sched.h>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace amk::app
{
namespace
{
template <class F> F openblas(const char *name)
{
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}
} // namespace

int blas_threads()
{
  const auto get = openblas<int (*)()>("openblas_get_num_threads");
  return get ? get() : 0;
}

const char *blas_threading()
{
  const auto get = openblas<int (*)()>("openblas_get_parallel"); // OpenBLAS: 0, 1 pthreads, 2 OpenMP
  if (!get)
    return "";
  switch (get())
  {
  case 0: return "sequential";
  case 1: return "pthreads";
  case 2: return "openmp";
  default: return "";
  }
}

std::string blas_pairing_warning()
{
#ifdef KOKKOS_ENABLE_OPENMP
  if (std::is_same_v<Kokkos::DefaultHostExecutionSpace, Kokkos::OpenMP> &&
      std::string(blas_threading()) == "pthreads" && blas_threads() > 1)
    return "amk: warning: Kokkos runs on OpenMP threads and OpenBLAS on its own pthreads: the two fight "
           "for the cores (a step up to 4x slower); use OpenBLAS's OpenMP build (Debian: libopenblas0-openmp, "
           "install-deps.sh --kokkos-openmp; Spack: openblas threads=openmp) or OPENBLAS_NUM_THREADS=1";
#endif
  return "";
}

std::vector<std::string> kokkos_thread_arguments(const dist::Comm &comm, bool user_set)
{
  const int local = comm.local_size(); // collective: before any rank may return
#ifdef KOKKOS_ENABLE_OPENMP
  if (!std::is_same_v<Kokkos::DefaultHostExecutionSpace, Kokkos::OpenMP> || user_set || std::getenv("OMP_NUM_THREADS") ||
      local <= 1)
    return {};
  cpu_set_t mask;
  CPU_ZERO(&mask);
  const int allowed = sched_getaffinity(0, sizeof(mask), &mask) == 0 ? CPU_COUNT(&mask) : 1;
  const int node = std::max(1, int(std::thread::hardware_concurrency()));
  const int threads = std::min(allowed, std::max(1, node / local));
  const std::string option = KOKKOS_VERSION >= 30700 ? "--kokkos-num-threads=" : "--kokkos-threads="; // 3.4's name
  std::vector<std::string> arguments;
  if (threads < allowed)
    arguments.push_back(option + std::to_string(threads));
  // more ranks than cores, each on one thread: the oversubscription is the launcher's, as in a
  // Serial build, and Kokkos would warn about it once per rank
  if (local > node)
    arguments.push_back("--kokkos-disable-warnings");
  return arguments;
#else
  (void)local;
  (void)user_set;
  return {};
#endif
}

void share_blas_threads(const dist::Comm &comm)
{
  const int local = comm.local_size(); // collective: before any rank may return
  for (const char *user : {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"})
    if (std::getenv(user))
      return;
  const auto set = openblas<void (*)(int)>("openblas_set_num_threads");
  const int threads = blas_threads();
  if (set && local > 1 && threads > 1)
    set(std::max(1, threads / local));
}
} // namespace amk::app
