#!/usr/bin/env bash
# Packs a build of amk (its program and test executables) with every shared library they load,
# the CUDA driver's excepted, into ONE folder that runs on a machine with nothing from Debian:
# the loader and glibc travel too (the programs start through the folder's own ld-linux), Open
# MPI with its components (a singleton run needs them). perf/gpu/run.sh, copied in, runs the
# device checks there and writes one JSON report.
#
#   perf/gpu/pack.sh [--build build-cuda] [--out gpu-bundle]
#   perf/gpu/pack.sh --build build --out host-bundle    # a host build, packed the same way
#
# The build must exist (README "One prepared GPU script": configure and build commands). The
# folder holds its files compressed (bundle.tar.xz, unpacked by run.sh into $TMPDIR): the CUDA
# test executables carry the kernels' sm_90 code, which xz shrinks ~4x, and the folder must
# stay within 60 MiB (it fails here otherwise). The executables are stripped.
set -euo pipefail
BUILD=build-cuda
OUT=gpu-bundle
LIMIT_MIB=60
while [[ $# -gt 0 ]]; do
  case "$1" in
  --build) BUILD=$2; shift 2 ;;
  --out) OUT=$2; shift 2 ;;
  *) echo "pack.sh: unknown argument '$1' (--build DIR, --out DIR)" >&2; exit 2 ;;
  esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[[ -x "$BUILD/apps/amk" ]] || { echo "pack.sh: $BUILD/apps/amk is missing: build amk_cli first" >&2; exit 1; }
command -v strip >/dev/null || { echo "pack.sh: needs strip (binutils)" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/bin" "$STAGE/tests" "$STAGE/lib" "$STAGE/perf"

# the executables: amk and every test program, the host-only copies of a CUDA build's
# per-back-end tests left out (the CUDA ones run the same tests on the device)
cp "$BUILD/apps/amk" "$STAGE/bin/amk"
cuda=0
ls "$BUILD"/tests/amk_test_*_cuda >/dev/null 2>&1 && cuda=1
for t in "$BUILD"/tests/amk_test_*; do
  [[ -x "$t" && -f "$t" ]] || continue
  case "$(basename "$t")" in *.so) continue ;; esac
  [[ $cuda == 1 && "$t" == *_serial ]] && continue
  cp "$t" "$STAGE/tests/"
done
strip --strip-debug "$STAGE"/bin/* "$STAGE"/tests/*

# the shared libraries, found by ldd, the driver's own excepted (libcuda comes with the GPU)
is_driver() { [[ "$1" =~ ^lib(cuda\.so|nvidia-|nvcuvid|nvoptix) ]]; }
# (the CUDA runtime, libcudart, is found where the toolkit is; every other library where ldd finds it)
TOOLKIT_LIBS=${CUDA_HOME:-/usr/local/cuda}/lib64
copy_deps() {
  local lost
  lost=$(LD_LIBRARY_PATH="$TOOLKIT_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$1" 2>/dev/null |
    awk '/not found/{print $1}' | grep -v -E '^lib(cuda\.so|nvidia-)' || true)
  [[ -z "$lost" ]] || { echo "pack.sh: $(basename "$1") needs $lost, which ldd does not find" >&2; exit 1; }
  LD_LIBRARY_PATH="$TOOLKIT_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$1" 2>/dev/null | awk '/=> \//{print $1, $3} /^[ \t]*\/[^ ]*ld-linux/{print "LOADER", $1}' |
    while read -r name path; do
      if [[ $name == LOADER ]]; then
        cp -L "$path" "$STAGE/lib/ld-linux-x86-64.so.2"
      elif ! is_driver "$name" && [[ ! -e "$STAGE/lib/$name" ]]; then
        cp -L "$path" "$STAGE/lib/$name"
      fi
    done
}
for f in "$STAGE"/bin/* "$STAGE"/tests/*; do copy_deps "$f"; done
[[ -e "$STAGE/lib/ld-linux-x86-64.so.2" ]] || { echo "pack.sh: ldd named no loader for $BUILD/apps/amk" >&2; exit 1; }

# Open MPI's components (dlopened by MPI_Init) and help texts, relocated by OPAL_PREFIX
OMPI=/usr/lib/x86_64-linux-gnu/openmpi
if [[ -d $OMPI/lib/openmpi3 ]]; then
  mkdir -p "$STAGE/mpi/lib/x86_64-linux-gnu/openmpi/lib" "$STAGE/mpi/share" "$STAGE/mpi/etc"
  cp -rL "$OMPI/lib/openmpi3" "$STAGE/mpi/lib/x86_64-linux-gnu/openmpi/lib/"
  cp -rL /usr/share/openmpi "$STAGE/mpi/share/" 2>/dev/null || true
  cp -rL /etc/openmpi/. "$STAGE/mpi/etc/" 2>/dev/null || true
  [[ -d /usr/lib/x86_64-linux-gnu/pmix2 ]] && cp -rL /usr/lib/x86_64-linux-gnu/pmix2 "$STAGE/mpi/lib/x86_64-linux-gnu/"
  for c in "$STAGE"/mpi/lib/x86_64-linux-gnu/openmpi/lib/openmpi3/*.so "$STAGE"/mpi/lib/x86_64-linux-gnu/pmix2/lib/pmix/*.so; do
    [[ -e "$c" ]] && copy_deps "$c"
  done
fi

# the folder is closed: every library a program names, and those they name, is in it
missing=$(python3 "$HERE/needed.py" "$STAGE/lib" "$STAGE"/bin/* "$STAGE"/tests/* --allow libcuda.so.1) ||
  { echo "pack.sh: the folder lacks: $missing" >&2; exit 1; }

# what run.sh runs beside amk: the peers and the report
cp "$ROOT/perf/jax_am.py" "$ROOT/perf/torch_am.py" "$HERE/report.py" "$HERE/needed.py" "$STAGE/perf/"
git -C "$ROOT" rev-parse HEAD > "$STAGE/COMMIT" 2>/dev/null || echo unknown > "$STAGE/COMMIT"
echo "$cuda" > "$STAGE/CUDA"

rm -rf "$OUT"
mkdir -p "$OUT"
tar -C "$STAGE" -cf - . | xz -T0 -6 > "$OUT/bundle.tar.xz"
cp "$HERE/run.sh" "$OUT/run.sh"
chmod +x "$OUT/run.sh"
size=$(du -sm "$OUT" | cut -f1)
unpacked=$(du -sm "$STAGE" | cut -f1)
echo "pack.sh: $OUT: ${size} MiB (${unpacked} MiB unpacked): $(ls "$STAGE/tests" | wc -l) test programs, $(ls "$STAGE/lib" | wc -l) libraries"
if ((size > LIMIT_MIB)); then
  echo "pack.sh: $OUT is ${size} MiB, more than ${LIMIT_MIB} MiB" >&2
  exit 1
fi
