// GoogleTest entry point: MPI (when built in) and Kokkos wrap the whole test run.
#include <Kokkos_Core.hpp>
#include <amk/dist/comm.hpp>
#include <gtest/gtest.h>

int main(int argc, char **argv)
{
  amk::dist::Environment mpi(argc, argv);
  Kokkos::ScopeGuard kokkos(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
