// GoogleTest entry point: MPI (when built in) and Kokkos wrap the whole test run.
#include <Kokkos_Core.hpp>
#include <amk/config.hpp>
#include <gtest/gtest.h>
#if AMK_ENABLE_MPI
#include <mpi.h>
#endif

int main(int argc, char **argv)
{
#if AMK_ENABLE_MPI
  MPI_Init(&argc, &argv);
#endif
  Kokkos::initialize(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  Kokkos::finalize();
#if AMK_ENABLE_MPI
  MPI_Finalize();
#endif
  return rc;
}
