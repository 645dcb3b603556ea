#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root): install, then three stages,
#   release    the optimised build (what users run) and every test        build-tests/
#   sanitize   the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (gcc),
#              leaks included                                             build-sanitize/
#   fuzz       the libFuzzer harnesses (clang), a fixed number of inputs each from a fixed
#              seed over the seed corpus in tests/fuzz/corpus             build-fuzz/
#   ./run-tests.sh                       all three (about 33 minutes on 2 cores, builds included)
#   AMK_TEST_STAGES=release ./run-tests.sh   a subset; AMK_FUZZ_SCALE=10 fuzzes ten times longer
# Every stage runs; the exit status is non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")"
./install-deps.sh
STAGES=${AMK_TEST_STAGES:-release sanitize fuzz}
JOBS=$(nproc)
# Serial Kokkos + OpenBLAS threads: one BLAS thread per core, no oversubscription under mpirun.
export OMPI_MCA_rmaps_base_oversubscribe=1
failed=()

stage() { echo "=== run-tests: $1 ($(date +%T))"; }

if [[ " $STAGES " == *" release "* ]]; then
  stage release
  BUILD_DIR=${BUILD_DIR:-build-tests}
  # Debian's Kokkos carries no architecture flags: build for this machine's SIMD (AVX-512
  # here), as Kokkos_ARCH_NATIVE or Spack's target would. AMK_CXX_FLAGS="" builds for any x86-64.
  # AMK_WARNINGS_AS_ERRORS: -Wall -Wextra -Wshadow -Wconversion fail the build in amk's own code
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAMK_ENABLE_TESTS=ON -DAMK_ENABLE_BENCHMARKS=ON \
    -DAMK_WARNINGS_AS_ERRORS=ON -DCMAKE_CXX_FLAGS="${AMK_CXX_FLAGS--march=native}" >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
  ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 900 -j "$JOBS" || failed+=(release)
fi

if [[ " $STAGES " == *" sanitize "* ]]; then
  stage sanitize
  SAN_DIR=${SANITIZE_DIR:-build-sanitize}
  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  # -O1: a fraction of -O2's compile time on 2 cores, and the tests still run in minutes
  cmake -S . -B "$SAN_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN" \
    -DCMAKE_SHARED_LINKER_FLAGS="$SAN" -DAMK_ENABLE_BENCHMARKS=OFF -DAMK_TEST_HEADERS=OFF \
    -DAMK_WARNINGS_AS_ERRORS=ON >/dev/null
  cmake --build "$SAN_DIR" -j "$JOBS"
  # Every process writes its sanitizer reports under $REPORTS (checked below), so a report from
  # a command a test expects to fail is not missed. allocator_may_return_null: amk reports a
  # failed allocation itself (the tests ask for 624 GiB); leaks: amk's own, with Open MPI's
  # start-up excluded (src/dist/comm.cpp). One BLAS thread: two tests share the two cores.
  # AMK_TEST_QUICK: the CLI tests' trainings are a twentieth as long (tests/cli/closed_form.py).
  REPORTS=$PWD/$SAN_DIR/sanitizer-reports
  rm -rf "$REPORTS" && mkdir -p "$REPORTS"
  ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:log_path=$REPORTS/asan \
  LSAN_OPTIONS=suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan \
  OPENBLAS_NUM_THREADS=1 AMK_TEST_QUICK=1 \
    ctest --test-dir "$SAN_DIR" --output-on-failure --timeout 900 -j "$JOBS" || failed+=(sanitize)
  # errors fail the stage; warnings (a huge allocation the tests ask for, refused) are shown
  if [ -n "$(ls -A "$REPORTS")" ]; then
    echo "run-tests: sanitizer reports:"; head -n 60 "$REPORTS"/*
    if grep -lqE "ERROR: |runtime error:" "$REPORTS"/*; then failed+=(sanitize-reports); fi
  fi
fi

if [[ " $STAGES " == *" fuzz "* ]]; then
  stage fuzz
  FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
  FUZZ="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  cmake -S . -B "$FUZZ_DIR" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS="$FUZZ" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DAMK_ENABLE_FUZZ=ON -DAMK_ENABLE_TESTS=OFF \
    -DAMK_ENABLE_BENCHMARKS=OFF -DAMK_ENABLE_APPS=OFF -DAMK_FUZZ_SCALE="${AMK_FUZZ_SCALE:-1}" \
    -DAMK_WARNINGS_AS_ERRORS=ON >/dev/null
  cmake --build "$FUZZ_DIR" -j "$JOBS" --target amk_fuzzers # the harnesses only: no training engines
  ctest --test-dir "$FUZZ_DIR" --output-on-failure --timeout 1800 -j "$JOBS" || failed+=(fuzz)
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "run-tests: FAILED stages: ${failed[*]}"
  exit 1
fi
echo "run-tests: all stages passed ($STAGES)"
