#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): install, build, then
#   ./run-example.sh            learn the dynamics of the built-in 2-D Gaussian path from 10
#                               snapshots, move samples of the first snapshot to the last,
#                               evaluate them, and draw the picture
#                               → example-out/{data.h5, run/, samples.h5, eval.json, field.h5, dynamics.png}
#   ./run-example.sh hydrogen   the paper's quantum experiment (hydrogen superposition, README
#                               § Hydrogen), reduced to minutes: STEPS (5000) steps of CONFIG
#                               (apps/configs/hydrogen-fast.toml); CONFIG=apps/configs/hydrogen-reference.toml
#                               STEPS=100000 is the full size. REFERENCE=/path/to/action-matching
#                               also trains the reference code on the same data and compares.
#                               → hydrogen-out/{data.h5, run/, samples.h5, eval_*.json, *.png, density.gif}
#   ./run-example.sh cells      real data: the Guo et al. (2010) mouse embryo (2- to 64-cell
#                               stages, Debian's r-bioc-destiny), unbalanced AM with its growth
#                               from the cell counts (apps/cells_experiment.sh; STEPS, default 2000)
#                               → cells-out/{guo.csv, cells.h5, run/, samples.h5, eval.json, growth.json, cells.png}
set -euo pipefail
cd "$(dirname "$0")"
EXAMPLE=${1:-gaussian}
case "$EXAMPLE" in
gaussian | hydrogen | cells) ;;
*) echo "run-example: unknown example '$EXAMPLE' (gaussian, hydrogen or cells)" >&2; exit 2 ;;
esac
# Kokkos 3.4 with OpenMP over Debian's OpenMP OpenBLAS (built once from Debian's own trilinos
# source, 25 s): one thread pool for the whole step, every core in one process. Debian's binary
# Kokkos is Serial only; AMK_KOKKOS=debian builds on it (one core for the elementwise work).
./install-deps.sh
kokkos=()
if [ "${AMK_KOKKOS:-openmp}" = openmp ]; then
  ./install-deps.sh --kokkos-openmp
  p=${AMK_KOKKOS_OPENMP:-/opt/amk-deps/kokkos-3.4-openmp}
  kokkos=(-DKokkos_DIR="$p/lib/cmake/Kokkos" -DKokkosKernels_DIR="$p/lib/cmake/KokkosKernels")
fi
BUILD_DIR=${BUILD_DIR:-build}
# Debian's Kokkos carries no architecture flags: build for this machine's SIMD (AVX-512
# here), as Kokkos_ARCH_NATIVE or Spack's target would. AMK_CXX_FLAGS="" builds for any x86-64.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAMK_ENABLE_TESTS=OFF -DAMK_ENABLE_BENCHMARKS=OFF \
  -DCMAKE_CXX_FLAGS="${AMK_CXX_FLAGS--march=native}" "${kokkos[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target amk_cli
AMK="$BUILD_DIR/apps/amk"
[ "$EXAMPLE" = hydrogen ] && exec apps/hydrogen_experiment.sh "$AMK"
if [ "$EXAMPLE" = cells ]; then # R reads the data package's ExpressionSet
  command -v Rscript >/dev/null && Rscript -e 'library(Biobase)' >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends r-base-core r-bioc-biobase >/dev/null
  exec apps/cells_experiment.sh "$AMK"
fi
OUT=${OUT:-example-out}
mkdir -p "$OUT"
"$AMK" datagen gaussian --dim 2 --snapshots 10 --samples 2000 --t0 0 --t1 10 --out "$OUT/data.h5"
"$AMK" train --data "$OUT/data.h5" --out "$OUT/run" --steps 3000 --batch 512 --width 128 --depth 3 --lr 2e-3 \
  --log-every 250 --checkpoint-every 1000
"$AMK" sample --checkpoint "$OUT/run/checkpoint.h5" --data "$OUT/data.h5" --from-snapshot 0 --to-time 10 \
  --steps 90 --record-every 10 --n 1000 --out "$OUT/samples.h5"
"$AMK" eval --data "$OUT/data.h5" --samples "$OUT/samples.h5" --out "$OUT/eval.json" >/dev/null
/usr/bin/python3 apps/plot_dynamics.py grid --out "$OUT/grid.h5" --data "$OUT/data.h5" --times 0 5 10
"$AMK" field --checkpoint "$OUT/run/checkpoint.h5" --points "$OUT/grid.h5" --out "$OUT/field.h5"
/usr/bin/python3 apps/plot_dynamics.py plot --data "$OUT/data.h5" --samples "$OUT/samples.h5" \
  --grid "$OUT/grid.h5" --field "$OUT/field.h5" --eval "$OUT/eval.json" --out "$OUT/dynamics.png"
echo "run-example: results in $OUT/ (eval.json, dynamics.png)"
