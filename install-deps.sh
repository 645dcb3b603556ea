#!/usr/bin/env bash
# Installs what amk needs to build, test and plot, from Debian 12 packages (run as root).
# Idempotent: does nothing when everything is already there.
set -euo pipefail
packages=(
  cmake g++ make pkg-config
  libtrilinos-kokkos-dev libtrilinos-kokkos-kernels-dev   # Kokkos 3.4 (Serial) + Kokkos Kernels
  libopenblas-dev libopenblas0-pthread                   # fast BLAS behind KokkosBlas::gemm
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev         # MPI and parallel HDF5
  libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev   # command line, JSON, formatting, CRC-32
  liblemon-dev                                            # exact optimal transport (network simplex)
  libgtest-dev libbenchmark-dev                           # tests and perf/
  clang libclang-rt-14-dev                                # libFuzzer + sanitizers (run-tests.sh fuzz)
  python3-h5py python3-matplotlib python3-numpy           # the example's picture, CLI tests
  python3-scipy                                           # the CLI tests' brute-force W1/W2 (linprog)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
