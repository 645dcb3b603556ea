#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root): install, then three stages,
#   release    the optimised build (what users run: Kokkos 3.4 with OpenMP, built once from
#              Debian's trilinos source by install-deps.sh --kokkos-openmp) and every test, the
#              kernels on the OpenMP back end                                build-tests/
#   sanitize   the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (gcc) on
#              Debian's own Kokkos (Serial: the kernels' Serial twins), leaks included,
#              trainings shortened, every check asserted                    build-sanitize/
#   fuzz       the libFuzzer harnesses (clang), a fixed number of inputs each from a fixed
#              seed over the seed corpus in tests/fuzz/corpus             build-fuzz/
#   ./run-tests.sh                       the three (22 minutes on 2 cores, builds included)
#   AMK_TEST_STAGES=release ./run-tests.sh   a subset; AMK_FUZZ_SCALE=10 fuzzes ten times longer
#   AMK_RELEASE_KOKKOS=debian ./run-tests.sh the release stage on Debian's Serial Kokkos instead
# Every stage runs; the exit status is non-zero if any failed.
#
# A stage's tests leave part of the cores idle (start-ups, MPI launches, a test's sleeps and
# pipes), so what is built next runs beside them at the lowest priority (nice 19: it takes
# only the idle time): the release tree's compile-only targets (every header alone, perf/) and
# the sanitizer tree during the release tests, the fuzz tree during the sanitizer tests. The
# compile_fail test, which builds in the release tree itself, runs after that tree is complete.
set -euo pipefail
cd "$(dirname "$0")"
./install-deps.sh
STAGES=${AMK_TEST_STAGES:-release sanitize fuzz}
JOBS=$(nproc)
# Serial Kokkos + OpenBLAS threads: one BLAS thread per core, no oversubscription under mpirun.
export OMPI_MCA_rmaps_base_oversubscribe=1
# One machine: the tests' mpirun jobs talk through shared memory (ob1 + vader), without UCX's
# start-up (0.2 s a job, hundreds of jobs). A process started without mpirun sets this itself
# (src/dist/comm.cpp); a user's mpirun keeps Open MPI's own choice.
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_osc=^ucx
failed=()
BUILD_DIR=${BUILD_DIR:-build-tests}
SAN_DIR=${SANITIZE_DIR:-build-sanitize}
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
LOGS=${TMPDIR:-/tmp}/amk-run-tests.$$
mkdir -p "$LOGS"

stage() { echo "=== run-tests: $1 ($(date +%T))"; }
has() { [[ " $STAGES " == *" $1 "* ]]; }

# Debian's Kokkos carries no architecture flags: build for this machine's SIMD, as
# Kokkos_ARCH_NATIVE or Spack's target would. AMK_CXX_FLAGS="" builds for any x86-64.
# AMK_WARNINGS_AS_ERRORS: -Wall -Wextra -Wshadow -Wconversion fail the build in amk's own code
configure_release() {
  local kokkos=()
  if [ "${AMK_RELEASE_KOKKOS:-openmp}" = openmp ]; then
    ./install-deps.sh --kokkos-openmp
    local p=${AMK_KOKKOS_OPENMP:-/opt/amk-deps/kokkos-3.4-openmp}
    kokkos=(-DKokkos_DIR="$p/lib/cmake/Kokkos" -DKokkosKernels_DIR="$p/lib/cmake/KokkosKernels" -DAMK_TEST_ONLY_BACKENDS=OpenMP)
  fi
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAMK_ENABLE_TESTS=ON -DAMK_ENABLE_BENCHMARKS=ON \
    -DAMK_WARNINGS_AS_ERRORS=ON -DCMAKE_CXX_FLAGS="${AMK_CXX_FLAGS--march=native}" "${kokkos[@]}" >/dev/null
}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
build_sanitize() {
  # -O1: a fraction of -O2's compile time on 2 cores, and the tests still run in minutes
  cmake -S . -B "$SAN_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN" \
    -DCMAKE_SHARED_LINKER_FLAGS="$SAN" -DAMK_ENABLE_BENCHMARKS=OFF -DAMK_TEST_HEADERS=OFF \
    -DAMK_TEST_KERNEL_TESTS_O0=ON -DAMK_WARNINGS_AS_ERRORS=ON >/dev/null
  cmake --build "$SAN_DIR" -j "$JOBS"
}
FUZZ="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
build_fuzz() {
  cmake -S . -B "$FUZZ_DIR" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS="$FUZZ" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DAMK_ENABLE_FUZZ=ON -DAMK_ENABLE_TESTS=OFF \
    -DAMK_ENABLE_BENCHMARKS=OFF -DAMK_ENABLE_APPS=OFF -DAMK_FUZZ_SCALE="${AMK_FUZZ_SCALE:-1}" \
    -DAMK_WARNINGS_AS_ERRORS=ON >/dev/null
  cmake --build "$FUZZ_DIR" -j "$JOBS" --target amk_fuzzers # the harnesses only: no training engines
}

# background BUILD COMMAND...: runs the command (or shell function) at the lowest priority, its
# output in $LOGS/BUILD.log; finish BUILD: waits for it (by then alone, so at full speed) and
# shows the log's end if it failed
declare -A pids
background() {
  local name=$1
  shift
  (renice -n 19 "$BASHPID" >/dev/null && "$@") >"$LOGS/$name.log" 2>&1 &
  pids[$name]=$!
}
finish() {
  local name=$1
  if [ -n "${pids[$name]:-}" ] && ! wait "${pids[$name]}"; then
    echo "run-tests: the $name build failed:"
    tail -n 60 "$LOGS/$name.log"
    pids[$name]=
    return 1
  fi
  pids[$name]=
  return 0
}

if has release; then
  stage release
  configure_release
  cmake --build "$BUILD_DIR" -j "$JOBS" --target amk_test_programs
  background release-checks cmake --build "$BUILD_DIR" -j "$JOBS" # every header alone, perf/
  if has sanitize; then background sanitize build_sanitize; fi
  ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 900 -j "$JOBS" -E '^compile_fail$' || failed+=(release)
  if finish release-checks; then
    ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 900 -R '^compile_fail$' || failed+=(release)
  else failed+=(release-build); fi
fi

if has sanitize; then
  stage sanitize
  if [ -z "${pids[sanitize]:-}" ]; then background sanitize build_sanitize; fi
  if finish sanitize; then
    if has fuzz; then background fuzz build_fuzz; fi
    # Every process writes its sanitizer reports under $REPORTS (checked below), so a report from
    # a command a test expects to fail is not missed. allocator_may_return_null: amk reports a
    # failed allocation itself (the tests ask for 624 GiB); leaks: amk's own, with Open MPI's
    # start-up excluded (src/dist/comm.cpp). One BLAS thread: two tests share the two cores.
    # AMK_TEST_QUICK: shorter trainings with their own bounds (tests/cli/closed_form.py, tests/quick.hpp).
    # install (an install tree used through find_package) runs in the release stage only.
    REPORTS=$PWD/$SAN_DIR/sanitizer-reports
    rm -rf "$REPORTS" && mkdir -p "$REPORTS"
    ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:log_path=$REPORTS/asan \
    LSAN_OPTIONS=suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan \
    OPENBLAS_NUM_THREADS=1 AMK_TEST_QUICK=1 \
      ctest --test-dir "$SAN_DIR" --output-on-failure --timeout 900 -j "$JOBS" -E '^install$' || failed+=(sanitize)
    # errors fail the stage; warnings (a huge allocation the tests ask for, refused) are shown
    if [ -n "$(ls -A "$REPORTS")" ]; then
      echo "run-tests: sanitizer reports:"; head -n 60 "$REPORTS"/*
      if grep -lqE "ERROR: |runtime error:" "$REPORTS"/*; then failed+=(sanitize-reports); fi
    fi
  else failed+=(sanitize-build); fi
fi

if has fuzz; then
  stage fuzz
  if [ -z "${pids[fuzz]:-}" ]; then background fuzz build_fuzz; fi
  if finish fuzz; then
    ctest --test-dir "$FUZZ_DIR" --output-on-failure --timeout 1800 -j "$JOBS" || failed+=(fuzz)
  else failed+=(fuzz-build); fi
fi

rm -rf "$LOGS"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-tests: FAILED stages: ${failed[*]}"
  exit 1
fi
echo "run-tests: all stages passed ($STAGES)"
