#pragma once
// The execution space a test executable runs on. CMake compiles every test source that runs
// kernels once per back end of the Kokkos it builds against (Serial, OpenMP, Threads, Cuda,
// HIP), as Kokkos Kernels and Cabana do, with AMK_TEST_BACKEND naming the space: one ctest
// then runs the whole suite on each back end (engine_serial, engine_openmp, …).
#include <Kokkos_Core.hpp>

#ifndef AMK_TEST_BACKEND
#error "AMK_TEST_BACKEND must name a Kokkos execution space (tests/CMakeLists.txt sets it)"
#endif

namespace amk::test
{
using Exec = Kokkos::AMK_TEST_BACKEND;
} // namespace amk::test
