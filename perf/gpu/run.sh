#!/usr/bin/env bash
# amk's device checks in one run, from the folder perf/gpu/pack.sh made (this script is copied
# into it): the CUDA test suite, `amk bench` of plain and entropic AM at widths 64-4096 in
# float32 and float64 (every engine that fits timed: gemm, fused, staged), the JAX and PyTorch
# peers on the same GPU (float32 with TF32 off and on, float64), and a hydrogen training of
# 5,000 steps; one JSON report (report.json) with every figure. Made to end within 8 minutes
# on one H200: each part has a time limit, and what the budget leaves out is named in the report.
#
#   bash gpu-bundle/run.sh [--out DIR] [--python PY] [--budget SECONDS] [--check]
#
#   --out DIR      where the report and the logs go (default ./gpu-report)
#   --python PY    the Python with jax and torch (default python3; a part is skipped and named
#                  in the report where one is missing)
#   --budget S     seconds for the whole run (default 460); the parts run by priority: the
#                  tests, plain AM float32 (amk, then the peers), hydrogen, entropic AM, float64
#   --check        on a machine without a GPU: every program of the folder loads with the folder's
#                  own libraries (the driver's libcuda excepted), the peers' scripts compile, the
#                  report is written; with a host build's folder the tests and a training run too
# Nothing is installed; the programs start through the folder's own loader and libraries, so
# the machine needs only the CUDA driver (and Python for the peers).
set -uo pipefail
B=$(cd "$(dirname "$0")" && pwd)
OUT=$PWD/gpu-report
PY=python3
BUDGET=460
CHECK=0
while [[ $# -gt 0 ]]; do
  case "$1" in
  --out) OUT=$2; shift 2 ;;
  --python) PY=$2; shift 2 ;;
  --budget) BUDGET=$2; shift 2 ;;
  --check) CHECK=1; shift ;;
  *) echo "run.sh: unknown argument '$1' (--out DIR, --python PY, --budget S, --check)" >&2; exit 2 ;;
  esac
done
START=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - START))); }
mkdir -p "$OUT/logs"
: > "$OUT/parts.jsonl"
part() { # name status seconds [detail]: one line of the report's parts
  printf '{"part": "%s", "status": "%s", "seconds": %s, "detail": "%s"}\n' "$1" "$2" "$3" "${4//\"/\'}" >> "$OUT/parts.jsonl"
}

W=${TMPDIR:-/tmp}/amk-bundle.$$
mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
# (Python's tarfile where the machine has no xz)
if command -v xz >/dev/null; then tar -C "$W" -xJf "$B/bundle.tar.xz"
else "$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$B/bundle.tar.xz" "$W"
fi || { echo "run.sh: cannot unpack $B/bundle.tar.xz" >&2; exit 1; }
CUDA=$(cat "$W/CUDA")
LOADER=$W/lib/ld-linux-x86-64.so.2
# the driver's libcuda: where ldconfig knows it, else the usual places
DRIVER=$( (ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF; exit}' | xargs -r dirname) || true)
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib/wsl/lib; do
  [[ -z "$DRIVER" && -e $d/libcuda.so.1 ]] && DRIVER=$d
done
LIBS=$W/lib${DRIVER:+:$DRIVER}
export OPAL_PREFIX=$W/mpi OMPI_MCA_ess_singleton_isolated=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
RUN=("$LOADER" --library-path "$LIBS") # how a program of the folder starts
AMK=("${RUN[@]}" "$W/bin/amk")
status_of() { case $1 in 0) echo ok ;; 124 | 137) echo timeout ;; 125) echo skipped ;; *) echo failed ;; esac; }
timed() { # limit log cmd...: runs cmd within min(limit, what is left); prints its seconds; returns its status
  local limit=$1 log=$2; shift 2
  local l; l=$(left); ((l < limit)) && limit=$l
  ((limit <= 5)) && { echo "out of time: the budget was spent before this part" > "$log"; echo 0; return 125; }
  local t0; t0=$(date +%s%N)
  timeout --kill-after=5 "$limit" "$@" > "$log" 2>&1
  local rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
  printf '%d.%03d\n' $((ms / 1000)) $((ms % 1000))
  return $rc
}

# --- the machine
{
  echo "commit $(cat "$W/COMMIT")"; uname -a
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  echo "driver libcuda: ${DRIVER:-none found}"
} > "$OUT/machine.txt" 2>&1

# --- every program loads with the folder's libraries (all but the driver's): loaded by the
# folder's loader where the driver is here, else by their DT_NEEDED entries (the loader stops
# at the first missing library, libcuda.so.1)
missing=""
if [[ $CUDA == 1 && -z "$DRIVER" ]]; then
  missing=$("$PY" "$W/perf/needed.py" "$W/lib" "$W"/bin/* "$W"/tests/* --allow libcuda.so.1 | tr '\n' ';')
  how="every library they name, but the driver's libcuda.so.1, in the folder (no driver here)"
else
  for f in "$W"/bin/* "$W"/tests/*; do
    if ! listed=$("$LOADER" --list --library-path "$LIBS" "$f" 2>&1); then
      missing+="$(basename "$f"): $(grep -m1 -E 'not found|error' <<< "$listed"); "
    fi
  done
  how="loaded with the folder's libraries"
fi
if [[ -z "$missing" ]]; then part loads ok 0 "$(ls "$W/bin" "$W/tests" | wc -l) programs: $how"; else part loads failed 0 "$missing"; fi

have_gpu=0
[[ $CUDA == 1 && -n "$DRIVER" ]] && have_gpu=1
if [[ $CHECK == 1 ]]; then
  "$PY" -m py_compile "$W/perf/jax_am.py" "$W/perf/torch_am.py" "$W/perf/report.py" "$W/perf/needed.py" &&
    part peers_compile ok 0 "jax_am.py torch_am.py report.py" || part peers_compile failed 0 ""
fi

# --- the test suite (the CUDA one in a CUDA build)
if [[ $have_gpu == 1 || $CUDA == 0 ]]; then
  for t in "$W"/tests/amk_test_*; do
    name=$(basename "$t")
    [[ $name == *_mpi* ]] && continue
    s=$(timed 150 "$OUT/logs/$name.log" "${RUN[@]}" "$t" --gtest_brief=1); rc=$?
    summary=$(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/logs/$name.log" | tr '\n' ' ')
    part "test $name" "$(status_of $rc)" "$s" "$summary"
  done
else
  part tests skipped 0 "no GPU (a CUDA build's tests run on the device)"
fi

# --- amk bench and the peers, by priority (what the budget leaves out comes last): plain AM
# in float32 first, then the hydrogen training, then entropic AM and float64
WIDTHS=${AMK_GPU_WIDTHS:-64 128 256 512 1024 2048 4096}
PEER_WIDTHS=${AMK_GPU_PEER_WIDTHS:-64 256 1024 4096}
: > "$OUT/amk_bench.jsonl"
: > "$OUT/peers.jsonl"
bench_set() { # loss dtype: amk bench at every width (every engine that fits timed by --engine auto)
  local loss=$1 dtype=$2 w extra=() log s rc
  [[ $loss == eam ]] && extra=(--sigma 1 --laplacian exact)
  for w in $WIDTHS; do
    log="$OUT/logs/bench-$loss-$dtype-$w.log"
    s=$(timed 45 "$log" "${AMK[@]}" bench --dim 2 --width "$w" --depth 3 --batch 1024 --steps 20 --dtype "$dtype" \
      --draw once --loss "$loss" "${extra[@]}"); rc=$?
    [[ $rc == 0 ]] && grep '^{' "$log" | tail -1 >> "$OUT/amk_bench.jsonl"
    part "amk bench $loss $dtype $w" "$(status_of $rc)" "$s" "$(tail -c 200 "$log" | tr '\n' ' ')"
  done
}
peer_set() { # loss "who:dtype:mode" ...: the peers at every peer width
  local loss=$1 w peer who dtype mode log s rc sigma=() args
  shift
  [[ $loss == eam ]] && sigma=(--sigma 1)
  for w in $PEER_WIDTHS; do
    for peer in "$@"; do
      IFS=: read -r who dtype mode <<< "$peer"
      log="$OUT/logs/peer-$who-$loss-$dtype-$mode-$w.log"
      args=(--dim 2 --width "$w" --depth 3 --batch 1024 --steps 20 --dtype "$dtype" "${sigma[@]}")
      if [[ $who == jax ]]; then
        s=$(timed 60 "$log" "$PY" "$W/perf/jax_am.py" "${args[@]}" --precision "$mode"); rc=$?
      elif [[ $mode == on ]]; then
        s=$(timed 60 "$log" "$PY" "$W/perf/torch_am.py" "${args[@]}" --device cuda --tf32); rc=$?
      else
        s=$(timed 60 "$log" "$PY" "$W/perf/torch_am.py" "${args[@]}" --device cuda); rc=$?
      fi
      [[ $rc == 0 ]] && grep '^{' "$log" | tail -1 |
        sed "s/^{/{\"peer\": \"$who\", \"loss\": \"$loss\", \"mode\": \"$mode\", /" >> "$OUT/peers.jsonl"
      part "peer $who $loss $dtype $mode $w" "$(status_of $rc)" "$s" "$(tail -c 200 "$log" | tr '\n' ' ')"
    done
  done
}
hydrogen() { # the paper's data, default options, 5,000 steps
  local s rc
  s=$(timed 60 "$OUT/logs/hydrogen-data.log" "${AMK[@]}" datagen hydrogen --samples 2000 --out "$W/hydrogen.h5"); rc=$?
  part "hydrogen data" "$(status_of $rc)" "$s" "$(tail -c 200 "$OUT/logs/hydrogen-data.log" | tr '\n' ' ')"
  [[ $rc == 0 ]] || return
  s=$(timed 240 "$OUT/logs/hydrogen-train.log" "${AMK[@]}" train --data "$W/hydrogen.h5" --out "$W/hydrogen-run" \
    --steps 5000 --log-every 500); rc=$?
  part "hydrogen train 5000 steps" "$(status_of $rc)" "$s" "$(tail -n 3 "$OUT/logs/hydrogen-train.log" | tr '\n' ' ')"
}

if [[ $have_gpu == 1 ]]; then
  bench_set am float
  peer_set am jax:float32:highest jax:float32:default torch:float32:off torch:float32:on
  hydrogen
  bench_set eam float
  peer_set eam jax:float32:highest torch:float32:off
  bench_set am double
  peer_set am jax:float64:highest torch:float64:off
  bench_set eam double
elif [[ $CHECK == 1 && $CUDA == 0 ]]; then
  # a host build's folder under --check: a short training, through the folder's own MPI
  s=$(timed 60 "$OUT/logs/check-data.log" "${AMK[@]}" datagen gaussian --out "$W/g.h5"); rc=$?
  [[ $rc == 0 ]] && { s=$(timed 60 "$OUT/logs/check-train.log" "${AMK[@]}" train --data "$W/g.h5" --out "$W/g-run" --steps 50); rc=$?; }
  part "check train" "$(status_of $rc)" "$s" "$(tail -n 1 "$OUT/logs/check-train.log" 2>/dev/null | tr '\n' ' ')"
else
  part "bench, peers, hydrogen" skipped 0 "no GPU"
fi

"$PY" "$W/perf/report.py" "$OUT" --seconds "$(($(date +%s) - START))" || { echo "run.sh: the report failed" >&2; exit 1; }
grep -q '"status": "failed"' "$OUT/parts.jsonl" && exit 1
exit 0
