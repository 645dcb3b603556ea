// amk info: version, Kokkos backend and devices, MPI, HDF5.
#include "threads_per_rank.hpp"
#include "commands.hpp"
#include <Kokkos_Core.hpp>
#include <amk/config.hpp>
#include <amk/dist/comm.hpp>
#include <fmt/format.h>
#include <hdf5.h>
#include <iostream>
#if AMK_ENABLE_MPI
#include <mpi.h>
#endif

namespace amk::app
{
Action add_info(CLI::App &app)
{
  app.add_subcommand("info", "Print the version, Kokkos backend and devices, MPI and HDF5");
  return []()
  {
    const auto comm = dist::Comm::world();
    if (!comm.root())
      return 0;
    fmt::print("amk {}\n", AMK_VERSION_STRING);
    fmt::print("kokkos {}.{}.{}: default execution space {} (concurrency {})\n", KOKKOS_VERSION / 10000,
               KOKKOS_VERSION / 100 % 100, KOKKOS_VERSION % 100, Kokkos::DefaultExecutionSpace::name(),
               Kokkos::DefaultExecutionSpace::concurrency());
#if AMK_ENABLE_MPI
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    std::string v(version, len);
    fmt::print("mpi: {} ranks; {}\n", comm.size(), v.substr(0, v.find('\n')));
#else
    fmt::print("mpi: disabled at build time\n");
#endif
    if (*blas_threading())
      fmt::print("blas: OpenBLAS, {} threads ({})\n", blas_threads(), blas_threading());
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
#ifdef H5_HAVE_PARALLEL
    const char *parallel = "parallel";
#else
    const char *parallel = "serial";
#endif
    fmt::print("hdf5: {}.{}.{} ({})\n", maj, min, rel, parallel);
    std::cout << "kokkos configuration:\n" << std::flush;
    Kokkos::print_configuration(std::cout, false);
    return 0;
  };
}
} // namespace amk::app
