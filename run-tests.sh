#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root): install, build, ctest.
#   ./run-tests.sh            (BUILD_DIR=build-tests by default)
set -euo pipefail
cd "$(dirname "$0")"
./install-deps.sh
BUILD_DIR=${BUILD_DIR:-build-tests}
# Debian's Kokkos carries no architecture flags: build for this machine's SIMD (AVX-512
# here), as Kokkos_ARCH_NATIVE or Spack's target would. AMK_CXX_FLAGS="" builds for any x86-64.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAMK_ENABLE_TESTS=ON -DAMK_ENABLE_BENCHMARKS=ON \
  -DCMAKE_CXX_FLAGS="${AMK_CXX_FLAGS--march=native}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
# Serial Kokkos + OpenBLAS threads: one BLAS thread per core, no oversubscription under mpirun.
export OMPI_MCA_rmaps_base_oversubscribe=1
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 900 -j "$(nproc)"
