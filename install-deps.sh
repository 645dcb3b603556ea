#!/usr/bin/env bash
# Installs what amk needs to build, test and plot, from Debian 12 packages (run as root).
# Idempotent: does nothing when everything is already there.
#   ./install-deps.sh                  the packages
#   ./install-deps.sh --kokkos-openmp  also Kokkos 3.4.01 with OpenMP (and Kokkos Kernels) built from
#                                      Debian's own trilinos source into $AMK_KOKKOS_OPENMP (default
#                                      /opt/amk-deps/kokkos-3.4-openmp; 25 s on 2 cores), once, with
#                                      Debian's OpenMP OpenBLAS beneath it (libopenblas0-openmp)
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

# Kokkos 3.4.01 + Kokkos Kernels with OpenMP from Debian's trilinos source package (Debian's binary
# Kokkos is Serial only): Kokkos core (Serial + OpenMP) and Kokkos Kernels without explicit
# instantiations (amk's products go to OpenBLAS; the rest is instantiated where it is used)
# The BLAS must thread on the same OpenMP runtime as Kokkos (one pool for the whole step: with
# OpenBLAS's pthreads build the two sets of threads fight for the cores, d 2 width 256 on 2 cores
# 76 ms a step against 20.7 ms). Debian's default libopenblas.so.0 is the pthreads build, so Kokkos
# Kernels' library carries a run path to the OpenMP build's folder (the same soname and ABI).
if [ "${1:-}" = --kokkos-openmp ]; then
  prefix=${AMK_KOKKOS_OPENMP:-/opt/amk-deps/kokkos-3.4-openmp}
  omp_blas=/usr/lib/$(gcc -print-multiarch)/openblas-openmp
  if [ ! -f "$omp_blas/libopenblas.so.0" ]; then
    echo "install-deps: installing libopenblas0-openmp"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libopenblas0-openmp >/dev/null
  fi
  if [ ! -f "$prefix/lib/cmake/Kokkos/KokkosConfig.cmake" ] || [ ! -f "$prefix/amk-openmp-blas" ]; then
    echo "install-deps: building Kokkos 3.4.01 with OpenMP into $prefix"
    if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "${uri:-http://deb.debian.org/debian}" > /etc/apt/sources.list.d/amk-debian-src.sources
      apt-get update -qq
    fi
    src=$(mktemp -d)
    (
      cd "$src"
      apt-get source --download-only -qq trilinos >/dev/null
      tar -xzf trilinos_*.orig.tar.gz --wildcards '*/packages/kokkos/*' '*/packages/kokkos-kernels/*'
      cd Trilinos-*/packages
      cmake -S kokkos -B b-kokkos -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_CXX_STANDARD=17 \
        -DBUILD_SHARED_LIBS=ON -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON >/dev/null
      cmake --build b-kokkos -j "$(nproc)" >/dev/null && cmake --install b-kokkos >/dev/null
      cmake -S kokkos-kernels -B b-kk -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DKokkos_ROOT="$prefix" \
        -DBUILD_SHARED_LIBS=ON -DKokkosKernels_ENABLE_TPL_BLAS=ON -DKokkosKernels_ADD_DEFAULT_ETI=OFF \
        -DCMAKE_INSTALL_RPATH="$omp_blas" \
        -DKokkosKernels_INST_FLOAT=OFF -DKokkosKernels_INST_DOUBLE=OFF -DKokkosKernels_INST_COMPLEX_DOUBLE=OFF \
        -DKokkosKernels_INST_COMPLEX_FLOAT=OFF -DKokkosKernels_INST_LAYOUTLEFT=OFF -DKokkosKernels_INST_OFFSET_SIZE_T=OFF \
        -DKokkosKernels_INST_OFFSET_INT=OFF -DKokkosKernels_INST_ORDINAL_INT=OFF -DKokkosKernels_ENABLE_TESTS=OFF >/dev/null
      cmake --build b-kk -j "$(nproc)" >/dev/null && cmake --install b-kk >/dev/null
    )
    rm -rf "$src"
    echo "$omp_blas" > "$prefix/amk-openmp-blas"
  fi
fi
