#include <amk/dist/comm.hpp>
#include <cstdlib>
#if defined(__SANITIZE_ADDRESS__)
#define AMK_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AMK_LEAK_CHECK 1
#endif
#endif
#if AMK_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif
#if AMK_ENABLE_MPI
#include <mpi.h>
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h> // Open MPI: MPIX_Query_cuda_support, MPIX_Query_rocm_support
#endif
#endif

namespace amk::dist
{
Comm Comm::world()
{
  Comm c;
#if AMK_ENABLE_MPI
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised)
  {
    MPI_Comm_rank(MPI_COMM_WORLD, &c.m_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c.m_size);
  }
#endif
  return c;
}

int Comm::local_size() const
{
  int local = 1;
#if AMK_ENABLE_MPI
  if (m_size > 1)
  {
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, m_rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
  }
#endif
  return local;
}

void Comm::sum(double *data, std::size_t n) const
{
#if AMK_ENABLE_MPI
  if (m_size > 1)
    MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
  (void)data;
  (void)n;
#endif
}

void Comm::sum(float *data, std::size_t n) const
{
#if AMK_ENABLE_MPI
  if (m_size > 1)
    MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
#else
  (void)data;
  (void)n;
#endif
}

bool Comm::device_aware()
{
#if AMK_ENABLE_MPI && defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
  if (MPIX_Query_cuda_support())
    return true;
#endif
#if AMK_ENABLE_MPI && defined(MPIX_ROCM_AWARE_SUPPORT) && MPIX_ROCM_AWARE_SUPPORT
  if (MPIX_Query_rocm_support())
    return true;
#endif
  return false;
}

int Comm::first(bool flag) const
{
  int v = flag ? m_rank : m_size;
#if AMK_ENABLE_MPI
  if (m_size > 1)
    MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
#endif
  return v < m_size ? v : -1;
}

void Comm::abort(int code) const
{
#if AMK_ENABLE_MPI
  if (m_size > 1)
    MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

#if AMK_ENABLE_MPI
namespace
{
/// mpirun, srun (PMIx or PMI-2) and hydra each leave one of these in their processes.
bool started_by_a_launcher()
{
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(name))
      return true;
  return false;
}

/// A process started without a launcher is an MPI singleton, one rank that talks to nobody.
/// Open MPI 4 would start a daemon (orted) for it, to allow MPI_Comm_spawn, and bring up UCX:
/// 0.4 of the 0.5 s every amk command took to start. Only Open MPI reads these; a value the
/// user set wins.
void start_alone()
{
  ::setenv("OMPI_MCA_ess_singleton_isolated", "1", 0); // no daemon: amk never spawns
  ::setenv("OMPI_MCA_pml", "ob1", 0);                    // no network transports to bring up
  ::setenv("OMPI_MCA_btl", "self", 0);
  ::setenv("OMPI_MCA_osc", "^ucx", 0);
}
} // namespace
#endif

Environment::Environment(int &argc, char **&argv)
{
#if AMK_ENABLE_MPI
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised)
  {
    if (!started_by_a_launcher())
      start_alone();
#if AMK_LEAK_CHECK
    __lsan_disable(); // Open MPI's start-up leaks by design, in plug-ins it then unloads
#endif
    MPI_Init(&argc, &argv);
#if AMK_LEAK_CHECK
    __lsan_enable();
#endif
    m_owns = true;
  }
#else
  (void)argc;
  (void)argv;
#endif
}

Environment::~Environment()
{
#if AMK_LEAK_CHECK
  // LeakSanitizer's check now, while Open MPI's plug-ins are loaded: MPI_Finalize unloads
  // them, and what they keep for the process's lifetime would then be reported as leaks
  // with unnamed frames (no suppression could match). The check at exit is then skipped.
  __lsan_do_leak_check();
#endif
#if AMK_ENABLE_MPI
  if (m_owns)
    MPI_Finalize();
#endif
}
} // namespace amk::dist
