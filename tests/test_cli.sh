#!/usr/bin/env bash
# The amk program end to end: the datagen → train → sample → field → eval pipeline on a
# tiny problem, --resume, and bad input (each must fail with ONE line "amk: error: …",
# a non-zero exit and no output file).
# usage: test_cli.sh path/to/amk workdir
set -u
AMK=$(realpath "$1")
WORK=$2
REPO=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
PY=${AMK_TEST_PYTHON:-/usr/bin/python3}
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1"; }

# expect_error NAME OUTFILE PATTERN -- command...: non-zero exit, one stderr line
# "amk: error: ..." matching PATTERN, and OUTFILE (if not -) not created.
expect_error() {
  local name=$1 out=$2 pattern=$3
  shift 4
  "$@" >stdout.txt 2>stderr.txt
  local rc=$?
  local lines
  lines=$(wc -l <stderr.txt)
  if [ $rc -eq 0 ]; then bad "$name: exit 0"; return; fi
  if [ "$lines" -ne 1 ] || ! grep -qi "^amk: error: .*$pattern" stderr.txt; then
    bad "$name: stderr was: $(cat stderr.txt)"; return
  fi
  if [ "$out" != "-" ] && { [ -e "$out" ] || [ -e "$out.tmp" ]; }; then bad "$name: left $out behind"; return; fi
  ok "$name ($(cat stderr.txt))"
}

# --- the pipeline ---------------------------------------------------------------------
if "$AMK" datagen gaussian --dim 2 --snapshots 5 --samples 300 --t0 0 --t1 50 --out data.h5 >/dev/null; then
  ok "datagen"
else bad "datagen"; fi
if "$AMK" train --data data.h5 --out run --steps 40 --batch 64 --width 16 --depth 2 --log-every 10 \
  --checkpoint-every 20 >train.log 2>&1 && [ -f run/checkpoint.h5 ] && [ "$(wc -l <run/metrics.jsonl)" -eq 4 ]; then
  ok "train writes checkpoint.h5 and 4 metrics lines"
else bad "train: $(cat train.log)"; fi
if "$AMK" train --data data.h5 --out run --steps 60 --resume --log-every 10 >resume.log 2>&1 &&
  [ "$(tail -n 1 run/metrics.jsonl | $PY -c 'import json,sys; print(json.load(sys.stdin)["step"])')" = 60 ]; then
  ok "resume continues to step 60"
else bad "resume: $(cat resume.log)"; fi
# --resume: the options a run may change are honoured, others refused with their name
cp run/checkpoint.h5 run_before.h5
expect_error "resume cannot change --width" - "--resume cannot change --width" -- "$AMK" train --data data.h5 \
  --out run --steps 80 --resume --width 32
if cmp -s run/checkpoint.h5 run_before.h5; then ok "a refused resume leaves the checkpoint as it was"
else bad "a refused resume changed the checkpoint"; fi
expect_error "resume cannot change --activation" - "--activation" -- "$AMK" train --data data.h5 --out run \
  --steps 80 --resume --activation tanh
if "$AMK" train --data data.h5 --out run --steps 80 --resume --lr 5e-4 --log-every 5 >resume2.log 2>&1 &&
  $PY -c '
import h5py, json
f = h5py.File("run/checkpoint.h5", "r"); c = json.loads(f.attrs["config"])
assert f.attrs["step"] == 80 and c["lr"] == 5e-4 and c["log_every"] == 5 and c["network"]["width"] == 16, c
lines = [json.loads(l) for l in open("run/metrics.jsonl")]
assert [l["step"] for l in lines][-4:] == [65, 70, 75, 80], [l["step"] for l in lines]
assert all(abs(l["lr"] - 5e-4 * l["step"] / 100) < 1e-15 for l in lines if l["step"] > 60), lines  # warm-up 100'; then
  ok "resume honours --lr, --steps and --log-every and keeps the network"
else bad "resume with a changed --lr: $(cat resume2.log)"; fi
printf 'path = "gaussian"\nsteps = 9\nwidth = 8\ndepth = 1\nbatch = 16\nlog-every = 1\n' >cfg.toml
if "$AMK" train --config cfg.toml --out cfg_run --steps 5 >/dev/null 2>&1 &&
  [ "$(wc -l <cfg_run/metrics.jsonl)" -eq 5 ]; then
  ok "--config file read, command line wins"
else bad "--config"; fi
if "$AMK" sample --checkpoint run/checkpoint.h5 --data data.h5 --from-snapshot 0 --to-time 50 --steps 8 \
  --record-every 2 --n 100 --out samples.h5 >/dev/null; then ok "sample"; else bad "sample"; fi
# the whole snapshot (--n 0) keeps the file's order: particle i starts at row i; a subset is random
if "$AMK" sample --checkpoint run/checkpoint.h5 --data data.h5 --from-snapshot 1 --to-time 50 --steps 2 \
  --n 0 --out whole.h5 >/dev/null && "$AMK" sample --checkpoint run/checkpoint.h5 --data data.h5 \
  --from-snapshot 1 --to-time 50 --steps 2 --n 299 --out subset.h5 >/dev/null && $PY -c '
import h5py, numpy as np
snapshot = h5py.File("data.h5", "r")["x"][300:600]
whole, subset = h5py.File("whole.h5", "r")["x"][0], h5py.File("subset.h5", "r")["x"][0]
assert whole.shape == (300, 2) and np.abs(whole - snapshot).max() < 1e-4 * np.abs(snapshot).max(), np.abs(whole - snapshot).max()
assert np.abs(subset - snapshot[:299]).max() > 1e-2'; then
  ok "sample --n 0 starts particle i at the snapshot's row i; --n 299 is a random subset"
else bad "sample --n 0 order"; fi
if "$AMK" eval --data data.h5 --samples samples.h5 --out eval.json >eval.out &&
  $PY -c 'import json; r = json.load(open("eval.json"))["results"]; assert [e["time"] for e in r] == [0.0, 12.5, 25.0, 37.5, 50.0]'; then
  ok "eval reports every recorded time that is a snapshot time"
else bad "eval: $(cat eval.out)"; fi
$PY - <<'PY' && ok "sample output shape [5, 100, 2], times 0..50" || bad "sample output"
import h5py
f = h5py.File("samples.h5", "r")
assert f["x"].shape == (5, 100, 2), f["x"].shape
assert list(f["times"][:]) == [0.0, 12.5, 25.0, 37.5, 50.0], list(f["times"][:])
g = h5py.File("points.h5", "w"); g["x"] = [[0.0, 0.0], [1.0, -1.0]]; g["t"] = [10.0, 20.0]; g.close()
PY
if "$AMK" field --checkpoint run/checkpoint.h5 --points points.h5 --out field.h5 >/dev/null &&
  $PY -c 'import h5py; f = h5py.File("field.h5"); assert f["grad_x"].shape == (2, 2) and f["s"].shape == (2,) and f["ds_dt"].shape == (2,)'; then
  ok "field"
else bad "field"; fi

# --- under mpirun: on a built-in path (nothing to shard) 2 ranks train like 1 (double:
# equal up to reassociation); sharded data are tested in tests/cli/test_shards.py ----------
if command -v mpirun >/dev/null; then
  MPIRUN=(mpirun -np 2 --oversubscribe)
  [ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
  T2="train --path gaussian --dim 2 --steps 20 --batch 32 --width 8 --depth 1 --log-every 20 --dtype double"
  if "${MPIRUN[@]}" "$AMK" $T2 --out mpi2 >mpi.log 2>&1 && "$AMK" $T2 --out mpi1 >/dev/null &&
    $PY -c '
import json
a = json.loads(open("mpi1/metrics.jsonl").readlines()[-1]); b = json.loads(open("mpi2/metrics.jsonl").readlines()[-1])
assert abs(a["loss"] - b["loss"]) <= 1e-12 * (1 + abs(a["loss"])), (a, b)'; then
    ok "mpirun -np 2 train on a built-in path reproduces the 1-rank loss"
  else bad "mpirun train: $(cat mpi.log)"; fi
  "${MPIRUN[@]}" "$AMK" train --data missing.h5 --out mpi_bad >mpi_bad.out 2>mpi_bad.err
  if [ $? -ne 0 ] && [ "$(grep -c '^amk: error: missing.h5' mpi_bad.err)" = 1 ] && ! grep -q MPI_ABORT mpi_bad.err; then
    ok "mpirun with bad input: one error line, clean exit"
  else bad "mpirun bad input: $(cat mpi_bad.err)"; fi
fi

# --- bad input ----------------------------------------------------------------------------
echo "not hdf5" >text.h5
$PY - <<'PY'
import h5py, numpy as np
def write(name, **ds):
    with h5py.File(name, "w") as f:
        for k, v in ds.items():
            f[k] = v
x = np.zeros((6, 2)); t = np.array([0.0, 1.0]); off = np.array([0, 3, 6], dtype=np.int64)
write("no_offsets.h5", times=t, x=x)
write("rank1_x.h5", times=t, x=np.zeros(6), offsets=off)
write("decreasing.h5", times=t, x=x, offsets=np.array([0, 4, 3], dtype=np.int64))
write("short_end.h5", times=t, x=x, offsets=np.array([0, 3, 5], dtype=np.int64))
xn = x.copy(); xn[4, 1] = np.nan
write("nan.h5", times=t, x=xn, offsets=off)
xi = x.copy(); xi[0, 0] = np.inf
write("inf.h5", times=t, x=xi, offsets=off)
write("empty_snapshot.h5", times=t, x=x, offsets=np.array([0, 0, 6], dtype=np.int64))
write("one_snapshot.h5", times=np.array([0.0]), x=x, offsets=np.array([0, 6], dtype=np.int64))
write("times_not_increasing.h5", times=np.array([1.0, 1.0]), x=x, offsets=off)
PY
T="train --out bad_run --steps 2 --batch 4 --width 4 --depth 1 --data"
expect_error "missing file" bad_run/checkpoint.h5 "missing.h5" -- "$AMK" $T missing.h5
expect_error "not HDF5" bad_run/checkpoint.h5 "text.h5" -- "$AMK" $T text.h5
expect_error "missing /offsets" bad_run/checkpoint.h5 "offsets" -- "$AMK" $T no_offsets.h5
expect_error "x of rank 1" bad_run/checkpoint.h5 "/x" -- "$AMK" $T rank1_x.h5
expect_error "offsets not increasing" bad_run/checkpoint.h5 "offsets" -- "$AMK" $T decreasing.h5
expect_error "offsets not ending at N" bad_run/checkpoint.h5 "offsets" -- "$AMK" $T short_end.h5
expect_error "NaN in x" bad_run/checkpoint.h5 "NaN" -- "$AMK" $T nan.h5
expect_error "Inf in x" bad_run/checkpoint.h5 "Inf" -- "$AMK" $T inf.h5
expect_error "empty snapshot" bad_run/checkpoint.h5 "empty" -- "$AMK" $T empty_snapshot.h5
expect_error "one snapshot" bad_run/checkpoint.h5 "at least 2" -- "$AMK" $T one_snapshot.h5
expect_error "times not increasing" bad_run/checkpoint.h5 "increasing" -- "$AMK" $T times_not_increasing.h5
expect_error "bad activation" bad_run/checkpoint.h5 "relu" -- "$AMK" $T data.h5 --activation relu
expect_error "bad lr" bad_run/checkpoint.h5 "lr" -- "$AMK" $T data.h5 --lr -1
expect_error "no data" bad_run/checkpoint.h5 "--data" -- "$AMK" train --out bad_run --steps 2
expect_error "--t0 with --data" bad_run/checkpoint.h5 "--t0 applies to a built-in --path only" -- "$AMK" $T data.h5 --t0 -5
expect_error "bad snapshot index" out_bad.h5 "from-snapshot" -- "$AMK" sample --checkpoint run/checkpoint.h5 \
  --data data.h5 --from-snapshot 9 --to-time 1 --out out_bad.h5
expect_error "checkpoint is not one" out_bad.h5 "checkpoint" -- "$AMK" sample --checkpoint data.h5 \
  --data data.h5 --to-time 1 --out out_bad.h5
"$AMK" datagen gaussian --dim 2 --snapshots 3 --samples 10 --t0 100 --t1 200 --out other.h5 >/dev/null
expect_error "eval without matching times" - "matches" -- "$AMK" eval --data other.h5 --samples samples.h5
# corrupt checkpoints: a flipped bit in the weights, a truncation, an edit by another tool,
# data of another dimension: one line naming the file and the problem, never other weights
$PY -c '
import h5py, shutil
with h5py.File("run/checkpoint.h5", "r") as f:
    offset = f["params"].id.get_offset() + 8 * 5 + 3   # a byte of the 6th weight
data = bytearray(open("run/checkpoint.h5", "rb").read())
data[offset] ^= 0x10
open("flipped.h5", "wb").write(data)
open("truncated.h5", "wb").write(data[: len(data) // 2])
shutil.copy("run/checkpoint.h5", "edited.h5")
with h5py.File("edited.h5", "r+") as f:
    f.attrs["scale"] = 2 * f.attrs["scale"]'
expect_error "bit-flipped checkpoint" out_bad.h5 "flipped.h5: checksum mismatch" -- "$AMK" sample \
  --checkpoint flipped.h5 --data data.h5 --to-time 1 --out out_bad.h5
expect_error "truncated checkpoint" out_bad.h5 "truncated.h5" -- "$AMK" sample --checkpoint truncated.h5 \
  --data data.h5 --to-time 1 --out out_bad.h5
expect_error "checkpoint edited by h5py" out_bad.h5 "edited.h5: checksum mismatch" -- "$AMK" sample \
  --checkpoint edited.h5 --data data.h5 --to-time 1 --out out_bad.h5
# h5py's oldest format (no checksums) with a symbol table's heap address corrupted (found by
# the points-file fuzzer): HDF5 1.10's metadata accumulator crashed on it (SIGSEGV, not an error)
for f in "$REPO"/tests/fuzz/corpus/points_file/v0-heap-address-undefined-*; do
  expect_error "corrupt heap address ($(basename "$f")) as data" out_bad "$(basename "$f")" -- "$AMK" train \
    --data "$f" --steps 1 --out out_bad
  expect_error "corrupt heap address ($(basename "$f")) as points" out_bad.h5 "$(basename "$f")" -- "$AMK" field \
    --checkpoint run/checkpoint.h5 --points "$f" --out out_bad.h5
done
"$AMK" datagen gaussian --dim 3 --snapshots 5 --samples 300 --t0 0 --t1 50 --out data3.h5 >/dev/null
expect_error "resume on data of another dimension" - "the checkpoint was trained on d = 2" -- "$AMK" train \
  --data data3.h5 --out run --resume --steps 100
# a full disk (emulated by a file-size limit below the checkpoint's 17 MB): one line, exit 1,
# the previous checkpoint intact (it validates: amk field reads it) and no temporary file left
FULL="--path gaussian --t0 2 --t1 4 --width 512 --depth 3 --batch 64 --checkpoint-every 10"
"$AMK" train $FULL --steps 10 --out full >/dev/null
(ulimit -f 10000; "$AMK" train $FULL --steps 30 --out full --resume >full.out 2>full.err; echo $? >full.rc)
$PY -c '
import h5py, numpy as np
with h5py.File("full_points.h5", "w") as f:
    f["x"], f["t"] = np.zeros((3, 2)), np.full(3, 3.0)'
if [ "$(cat full.rc)" = 1 ] && [ "$(wc -l <full.err)" = 1 ] && grep -q "disk full" full.err &&
  [ ! -e full/checkpoint.h5.tmp ] &&
  "$AMK" field --checkpoint full/checkpoint.h5 --points full_points.h5 --out full_field.h5 >/dev/null &&
  $PY -c 'import h5py; assert h5py.File("full/checkpoint.h5", "r").attrs["step"] == 10'; then
  ok "a full disk: exit 1, one line ($(cat full.err)), the step-10 checkpoint intact"
else bad "full disk: rc $(cat full.rc), $(cat full.err)"; fi
# a network or batch larger than memory: one line with the size asked for and what was
# available, no checkpoint and no output directory content (the parameters alone are 624 GiB)
expect_error "a network larger than memory" huge/checkpoint.h5 "out of memory: .*624 G.*available: host [0-9.]* GiB" -- \
  "$AMK" train --path gaussian --t0 2 --t1 4 --width 65536 --depth 40 --steps 2 --out huge
# (Kokkos 3.4 says "Allocation of size 3052 G failed", 4.x "failed to allocate 2.98 TiB")
expect_error "a batch larger than memory" huge/checkpoint.h5 \
  "out of memory: .*\\(G failed\\|failed to allocate [0-9.]* TiB\\).*available: host" -- \
  "$AMK" train --path gaussian --t0 2 --t1 4 --width 1024 --depth 3 --batch 200000000 --steps 2 --out huge
# a process memory limit (ulimit -v, as some clusters set): one line naming the limit, no hang
# (OpenBLAS retries a failed buffer allocation forever; amk allocates its buffers first). An
# AddressSanitizer build cannot start under such a limit (it reserves terabytes of shadow).
if ldd "$AMK" | grep -q libasan; then ok "an address-space limit: skipped in the sanitizer build"; else
  (ulimit -v 600000; timeout -s KILL 60 "$AMK" train --path gaussian --t0 2 --t1 4 --width 256 --depth 3 --batch 65536 \
    --steps 3 --out huge >huge.out 2>huge.err; echo $? >huge.rc)
  if [ "$(cat huge.rc)" = 1 ] && [ "$(wc -l <huge.err)" = 1 ] &&
    grep -q "out of memory: .*available: .*process limit (ulimit -v) 586 MiB" huge.err; then
    ok "an address-space limit: exit 1, one line naming the limit ($(cat huge.err))"
  else bad "address-space limit: rc $(cat huge.rc), $(cat huge.err)"; fi
fi
# a directory name that is not UTF-8 (Latin-1 é: a valid Linux path) ends up in the checkpoint's
# JSON: written with U+FFFD in its place, and the run resumes (it lost its checkpoint before)
L1=$'latin1_\xe9'
if "$AMK" train --path gaussian --t0 2 --t1 4 --width 8 --batch 16 --steps 20 --checkpoint-every 10 --out "$L1" \
  >l1.log 2>&1 && "$AMK" train --path gaussian --t0 2 --t1 4 --steps 30 --resume --out "$L1" >>l1.log 2>&1 &&
  $PY -c 'import h5py, json, sys; f = h5py.File(sys.argv[1], "r"); assert f.attrs["step"] == 30
assert json.loads(f.attrs["config"])["out"] == "latin1_\ufffd"' "$L1/checkpoint.h5"; then
  ok "an output directory whose name is not UTF-8: checkpointed and resumed"
else bad "non-UTF-8 directory: $(cat l1.log)"; fi
expect_error "resume without checkpoint" - "resume" -- "$AMK" train --data data.h5 --out nowhere --resume
expect_error "eval with nothing to do" eval_bad.json "--samples" -- "$AMK" eval --data data.h5 --out eval_bad.json
expect_error "eval --velocity without a checkpoint" - "needs --checkpoint" -- "$AMK" eval --data data.h5 \
  --velocity harmonic
expect_error "eval --velocity on data without a known field" - "amk_path" -- "$AMK" eval --data data.h5 \
  --checkpoint run/checkpoint.h5 --velocity harmonic
"$AMK" datagen harmonic --dim 2 --snapshots 3 --samples 10 --out harmonic_small.h5 >/dev/null
expect_error "eval --velocity of another path" - "not from amk datagen hydrogen" -- "$AMK" eval --data harmonic_small.h5 \
  --checkpoint run/checkpoint.h5 --velocity hydrogen
expect_error "eval --alpha without the reference kernel" - "--alpha sets the kernel" -- "$AMK" eval \
  --data data.h5 --samples samples.h5 --alpha 0.1
expect_error "datagen hydrogen --states 3,3,0" bad_hy.h5 "0 <= l < n" -- "$AMK" datagen hydrogen --states 3,3,0 \
  --samples 10 --snapshots 3 --out bad_hy.h5
expect_error "datagen hydrogen --states x" bad_hy.h5 "n,l,m triples" -- "$AMK" datagen hydrogen --states 3,2 \
  --samples 10 --snapshots 3 --out bad_hy.h5
expect_error "datagen hydrogen --integrator" bad_hy.h5 "rk4 or euler" -- "$AMK" datagen hydrogen --integrator midpoint \
  --samples 10 --snapshots 3 --out bad_hy.h5
if "$AMK" datagen hydrogen --samples 200 --snapshots 5 --burn-in 2000 --out hy.h5 >hy.out &&
  grep -q "mixed" hy.out && $PY -c '
import h5py, json
f = h5py.File("hy.h5", "r")
assert f["x"].shape == (1000, 3) and list(f["offsets"][:]) == [0, 200, 400, 600, 800, 1000], f["x"].shape
assert json.loads(f.attrs["amk_path"])["states"] == [[3, 2, -1], [2, 1, 0]]
assert abs(f["times"][-1] - 14000) < 1e-9'; then
  ok "datagen hydrogen: 5 snapshots of the same 200 particles over [0, 14000], the states recorded"
else bad "datagen hydrogen: $(cat hy.out)"; fi
# amk eval --velocity hydrogen leaves out the points nearest the nodal set: 2 % by default
if "$AMK" train --data hy.h5 --out hy_run --steps 30 --batch 64 --width 16 --depth 1 >/dev/null &&
  "$AMK" eval --data hy.h5 --checkpoint hy_run/checkpoint.h5 --velocity hydrogen --max-samples 100 >hy_eval.json &&
  "$AMK" eval --data hy.h5 --checkpoint hy_run/checkpoint.h5 --velocity hydrogen --max-samples 100 \
    --exclude-nodal 0.1 >hy_eval10.json && $PY -c '
import json, math
a = json.load(open("hy_eval.json"))["velocity"]; b = json.load(open("hy_eval10.json"))["velocity"]
assert a["points"] == b["points"] == 500 and a["excluded"] == 10 and b["excluded"] == 50, (a["excluded"], b["excluded"])
assert math.isfinite(a["relative_l2"]) and a["relative_l2"] != b["relative_l2"]
assert 0.2 < a["gradient_floor"] < min(a["relative_l2"], 1), a["gradient_floor"]  # 0.46-0.50 on large sets
assert abs(a["gradient_error_bound"] ** 2 + a["gradient_floor"] ** 2 - a["relative_l2"] ** 2) < 1e-12'; then
  ok "eval --velocity hydrogen: 10 of 500 points (2 %) left out by default, 50 with --exclude-nodal 0.1; the gradient floor"
else bad "eval --velocity hydrogen: $(cat hy_eval.json)"; fi
$PY -c '
import h5py
f = h5py.File("hy.h5", "r")
with h5py.File("hy_points.h5", "w") as g:
    g["x"] = f["x"][:50]
    g["t"] = f["times"][0] + 0 * f["x"][:50, 0]'
# the shipped reference configuration: the reference code's network and optimiser
if "$AMK" train --config "$REPO/apps/configs/hydrogen-reference.toml" --data hy.h5 --out hy_ref \
    --steps 2 >hy_ref.out 2>&1 && $PY -c '
import h5py, json
c = json.loads(h5py.File("hy_ref/checkpoint.h5", "r").attrs["config"])
n = c["network"]
assert (n["width"], n["depth"], n["activation"], n["head"], n["time_features"]) == (256, 4, "silu", "quadratic", 0), n
assert (c["lr"], c["warmup"], c["clip"], c["ema"], c["batch"], c["time"]) == (1e-4, 5000, 1.0, 0.9999, 1000, "nearest"), c
assert len(h5py.File("hy_ref/checkpoint.h5", "r")["params"]) == 199427'; then
  ok "apps/configs/hydrogen-reference.toml: the reference network (199427 parameters) and optimiser"
else bad "hydrogen-reference.toml: $(cat hy_ref.out)"; fi
# amk's faster configuration: the same network, a larger step after a shorter warm-up, EMA 0.999
if "$AMK" train --config "$REPO/apps/configs/hydrogen-fast.toml" --data hy.h5 --out hy_fast \
    --steps 2 >hy_fast.out 2>&1 && $PY -c '
import h5py, json
f = h5py.File("hy_fast/checkpoint.h5", "r")
c = json.loads(f.attrs["config"])
n = c["network"]
assert (n["width"], n["depth"], n["activation"], n["head"], n["time_features"]) == (256, 4, "silu", "quadratic", 0), n
assert (c["lr"], c["warmup"], c["clip"], c["ema"], c["batch"], c["time"]) == (1e-3, 500, 1.0, 0.999, 1000, "nearest"), c
assert len(f["params"]) == 199427'; then
  ok "apps/configs/hydrogen-fast.toml: the reference network, lr 1e-3, warm-up 500, EMA 0.999"
else bad "hydrogen-fast.toml: $(cat hy_fast.out)"; fi
expect_error "eval --points without --field" - "go together" -- "$AMK" eval --data hy.h5 --velocity hydrogen \
  --points hy.h5
expect_error "eval --field and --checkpoint" - "not both" -- "$AMK" eval --data hy.h5 --velocity hydrogen \
  --points hy.h5 --field hy.h5 --checkpoint hy_run/checkpoint.h5
expect_error "eval --field without /grad_x" - "/grad_x" -- "$AMK" eval --data hy.h5 --velocity hydrogen \
  --points hy_points.h5 --field hy.h5
expect_error "eval --points without --velocity" - "--points and --field with --velocity" -- "$AMK" eval --data hy.h5 \
  --samples samples.h5 --points hy_points.h5 --field hy.h5
# --on-nan: a NaN or Inf step stops the run naming it (default) or is skipped without an
# update; AMK_FAULT_NAN_STEPS makes the loss of the listed steps NaN (fault injection)
NAN="--path gaussian --t0 2 --t1 4 --width 16 --depth 1 --batch 64 --log-every 1 --checkpoint-every 5"
"$AMK" train $NAN --out nan_clean9 --steps 9 >/dev/null
"$AMK" train $NAN --out nan_clean5 --steps 5 >/dev/null
if AMK_FAULT_NAN_STEPS=10 "$AMK" train $NAN --out nan_skip --steps 10 --on-nan skip >nan_skip.out 2>&1 &&
  grep -q "1 batch with NaN or Inf skipped" nan_skip.out && $PY -c '
import h5py, json, numpy as np
a, b = h5py.File("nan_skip/checkpoint.h5", "r"), h5py.File("nan_clean9/checkpoint.h5", "r")
assert a.attrs["step"] == 10 and b.attrs["step"] == 9
for k in ("params", "ema", "adam_m", "adam_v"):
    assert np.array_equal(a[k][:], b[k][:]), k
assert json.loads(open("nan_skip/metrics.jsonl").read().splitlines()[-1])["skipped"] == 1'; then
  ok "--on-nan skip: a NaN step leaves parameters, moments and EMA bitwise as the step before"
else bad "--on-nan skip: $(cat nan_skip.out)"; fi
expect_error "NaN at step 7 stops the run" - "NaN or Inf at step 7 .*nan_stop/checkpoint.h5, step 5) is kept" -- \
  env AMK_FAULT_NAN_STEPS=7 "$AMK" train $NAN --out nan_stop --steps 10
if $PY -c '
import h5py, numpy as np
a, b = h5py.File("nan_stop/checkpoint.h5", "r"), h5py.File("nan_clean5/checkpoint.h5", "r")
assert a.attrs["step"] == 5 and np.array_equal(a["params"][:], b["params"][:])'; then
  ok "after a NaN stop the checkpoint of step 5 is intact"
else bad "checkpoint after a NaN stop"; fi
expect_error "a diverging run (--lr 1e30)" nan_big/checkpoint.h5 "NaN or Inf at step 2 .*no checkpoint had been written" -- \
  "$AMK" train $NAN --out nan_big --steps 10 --lr 1e30 --warmup 0
expect_error "100 NaN batches in a row" - "100 batches in a row up to step 102" -- \
  env AMK_FAULT_NAN_STEPS="$(seq -s, 3 130)" "$AMK" train $NAN --out nan_many --steps 200 --on-nan skip
expect_error "--on-nan maybe" - "--on-nan must be stop or skip" -- "$AMK" train $NAN --out nan_bad --on-nan maybe
expect_error "eval --exclude-nodal without nodes" - "applies to a field with nodes" -- "$AMK" eval \
  --data harmonic_small.h5 --checkpoint run/checkpoint.h5 --velocity harmonic --exclude-nodal 0.1
expect_error "datagen harmonic --omega 0" bad_h.h5 "--omega must be positive" -- "$AMK" datagen harmonic --omega 0 \
  --out bad_h.h5
# the AM family's options
"$AMK" datagen ou --dim 2 --snapshots 4 --samples 50 --t0 1 --t1 2 --out ou_small.h5 >/dev/null
$PY - <<'PY'
import h5py, numpy as np
with h5py.File("negative_mass.h5", "w") as f:
    f["times"] = [0.0, 1.0]; f["x"] = np.zeros((6, 2)); f["offsets"] = np.array([0, 3, 6], dtype=np.int64)
    f["mass"] = [1.0, -1.0, 1.0, 1.0, 1.0, 1.0]
with h5py.File("both_masses.h5", "w") as f:
    f["times"] = [0.0, 1.0]; f["x"] = np.zeros((6, 2)); f["offsets"] = np.array([0, 3, 6], dtype=np.int64)
    f["mass"] = np.ones(6); f["snapshot_mass"] = [1.0, 2.0]
with h5py.File("bad_snapshot_mass.h5", "w") as f:
    f["times"] = [0.0, 1.0]; f["x"] = np.zeros((6, 2)); f["offsets"] = np.array([0, 3, 6], dtype=np.int64)
    f["snapshot_mass"] = [1.0, 0.0]
PY
F="train --out fam_bad --steps 2 --batch 4 --width 4 --depth 1 --data ou_small.h5"
expect_error "unknown loss" fam_bad/metrics.jsonl "--loss must be am, eam or uam (got 'sm')" -- "$AMK" $F --loss sm
expect_error "eam without sigma" fam_bad/metrics.jsonl "needs --sigma" -- "$AMK" $F --loss eam
expect_error "sigma zero" fam_bad/metrics.jsonl "--sigma must be positive" -- "$AMK" $F --loss eam --sigma 0
expect_error "sigma negative" fam_bad/metrics.jsonl "--sigma must be positive" -- "$AMK" $F --loss eam --sigma -1
expect_error "sigma NaN" fam_bad/metrics.jsonl "--sigma must be positive" -- "$AMK" $F --loss eam --sigma nan
expect_error "sigma schedule length" fam_bad/metrics.jsonl "one per snapshot (4), got 3" -- "$AMK" $F --loss eam \
  --sigma 1 2 3
expect_error "sigma without eam" fam_bad/metrics.jsonl "--sigma applies to --loss eam" -- "$AMK" $F --sigma 1
expect_error "probes zero" fam_bad/metrics.jsonl "--probes" -- "$AMK" $F --loss eam --sigma 1 --laplacian \
  hutchinson --probes 0
expect_error "bad probe distribution" fam_bad/metrics.jsonl "--probe-dist" -- "$AMK" $F --loss eam --sigma 1 \
  --probe-dist uniform
expect_error "bad laplacian" fam_bad/metrics.jsonl "--laplacian" -- "$AMK" $F --loss eam --sigma 1 --laplacian fd
expect_error "bad weight" fam_bad/metrics.jsonl "--weight" -- "$AMK" $F --weight cubic
expect_error "uam without masses" fam_bad/metrics.jsonl "neither /mass nor /snapshot_mass" -- "$AMK" $F --loss uam
expect_error "uam on a built-in path" fam_bad/metrics.jsonl "needs masses" -- "$AMK" train --out fam_bad \
  --path gaussian --loss uam --steps 2
expect_error "negative mass" fam_bad/metrics.jsonl "/mass\[1\] = -1 is negative" -- "$AMK" train --out fam_bad \
  --steps 2 --data negative_mass.h5 --loss uam
expect_error "both kinds of mass" fam_bad/metrics.jsonl "both /mass and /snapshot_mass" -- "$AMK" train \
  --out fam_bad --steps 2 --data both_masses.h5 --loss uam
expect_error "zero snapshot mass" fam_bad/metrics.jsonl "must be positive" -- "$AMK" train --out fam_bad \
  --steps 2 --data bad_snapshot_mass.h5 --loss uam
expect_error "continuous time on data" fam_bad/metrics.jsonl "--time continuous needs a built-in --path" -- \
  "$AMK" $F --time continuous
expect_error "coupled time on a path" fam_bad/metrics.jsonl "needs snapshots" -- "$AMK" train --out fam_bad \
  --path gaussian --time coupled --steps 2
expect_error "unknown time mode" fam_bad/metrics.jsonl "--time must be" -- "$AMK" $F --time staircase
expect_error "simpson on 4 snapshots" fam_bad/metrics.jsonl "simpson needs an odd number" -- "$AMK" $F \
  --time quadrature --rule simpson
expect_error "rule without quadrature" fam_bad/metrics.jsonl "--rule applies to --time quadrature" -- "$AMK" $F \
  --rule simpson
expect_error "bridge without eam" fam_bad/metrics.jsonl "--coupling bridge needs --loss eam" -- "$AMK" $F \
  --coupling bridge
expect_error "coupling batch 1" fam_bad/metrics.jsonl "--coupling-batch" -- "$AMK" $F --coupling-batch 1
expect_error "coupling epsilon 0" fam_bad/metrics.jsonl "--coupling-epsilon" -- "$AMK" $F --coupling-epsilon 0
expect_error "SDE method for an ODE" out_bad.h5 "integrate SDEs" -- "$AMK" sample --checkpoint run/checkpoint.h5 \
  --data data.h5 --to-time 1 --method em --out out_bad.h5
expect_error "unknown engine" bad_engine/metrics.jsonl "--engine" -- "$AMK" train --data data.h5 --out bad_engine \
  --engine fastest --steps 2
expect_error "fused engine too large" big_fused/metrics.jsonl "scratch memory" -- "$AMK" train --data data.h5 \
  --out big_fused --engine fused --width 2048 --steps 2
# an option given where it has no effect is refused, never ignored (train/options.hpp: "applies to")
expect_error "--probes without eam" fam_bad/metrics.jsonl \
  "--probes applies to --loss eam with the Hutchinson Laplacian only" -- "$AMK" $F --probes 4
expect_error "--probes with the exact Laplacian" fam_bad/metrics.jsonl "--probes applies to" -- "$AMK" $F --loss eam \
  --sigma 1 --laplacian exact --probes 4
expect_error "--dim with --data" fam_bad/metrics.jsonl "--dim applies to a built-in --path only" -- "$AMK" $F --dim 3
expect_error "--coupling-batch without coupled time" fam_bad/metrics.jsonl \
  "--coupling-batch applies to --time coupled only" -- "$AMK" $F --time nearest --coupling-batch 64
expect_error "--no-normalise on a path" fam_bad/metrics.jsonl "--no-normalise applies to --data only" -- "$AMK" train \
  --out fam_bad --path gaussian --steps 2 --no-normalise
expect_error "--steps not whole" fam_bad/metrics.jsonl "--steps must be a whole number in range (got '1.5')" -- \
  "$AMK" $F --steps 1.5
expect_error "--sigma not a number" fam_bad/metrics.jsonl "--sigma must be a number (got 'abc')" -- "$AMK" $F \
  --loss eam --sigma 1 abc
expect_error "an unknown --config key" fam_bad/metrics.jsonl "--fastest" -- bash -c \
  "printf 'fastest = 1\n' >bad.toml && \"$AMK\" $F --config bad.toml"
# a value the parser would take for an option (the fuzzer's "-h", which printed the help and exited 0)
expect_error "a --config value starting with -" fam_bad/metrics.jsonl "the value '-h' of 'activation' starts with '-'" -- \
  bash -c "printf 'activation = [\"tanh\", \"-h\"]\n' >dash.toml && \"$AMK\" $F --config dash.toml"
expect_error "field --engine fastest" field_bad.h5 "--engine: must be trained, auto, gemm, fused or staged (got 'fastest')" -- \
  "$AMK" field --checkpoint run/checkpoint.h5 --points points.h5 --out field_bad.h5 --engine fastest
expect_error "eval --engine without --checkpoint" - "--engine and --weights apply to the network of --checkpoint" -- \
  "$AMK" eval --data data.h5 --samples samples.h5 --engine gemm
# --- amk bench: the family's losses, and the FLOP model it reports ------------------
# FLOPs per step = 2·(Σ n_l n_{l−1})·((6 + 3m)·B + 3·2·B₀) with B₀ = B (DESIGN.md §2), m the
# curvature directions: the exact Laplacian's d = 4 axes, or 3 Hutchinson probes; the test
# counts the network's multiply-adds itself (input [x (4), t] → 16 → 16 → 16 → 1)
BENCH=(bench --dim 4 --width 16 --batch 64 --steps 2 --warmup 1)
if "$AMK" "${BENCH[@]}" >bench_am.json && "$AMK" "${BENCH[@]}" --loss eam --sigma 0.5 --laplacian exact \
  >bench_eam.json && "$AMK" "${BENCH[@]}" --loss eam --sigma 0.5 --laplacian hutchinson --probes 3 \
  >bench_hutch.json && "$AMK" "${BENCH[@]}" --loss uam >bench_uam.json &&
  $PY - <<'PYEOF'
import json
r = {k: json.load(open(f"bench_{k}.json")) for k in ("am", "eam", "hutch", "uam")}
macs = 5 * 16 + 16 * 16 + 16 * 16 + 16 * 1
for k, m in (("am", 0), ("eam", 4), ("hutch", 3), ("uam", 0)):
    assert r[k]["directions"] == m, (k, r[k]["directions"])
    assert r[k]["flops_per_step"] == 2 * macs * ((6 + 3 * m) * 64 + 3 * 2 * 64), (k, r[k]["flops_per_step"])
    assert abs(r[k]["gflops"] * 1e9 * r[k]["median_step_s"] / r[k]["flops_per_step"] - 1) < 1e-9, k
assert [r[k]["loss"] for k in ("am", "eam", "hutch", "uam")] == ["am", "eam", "eam", "uam"], r
PYEOF
then ok "bench runs every loss; directions 0/4/3/0 and the FLOP counts of the model (6 + 3m per interior sample)"
else bad "bench: $(cat bench_*.json 2>/dev/null)"; fi
if "$AMK" train --bogus-option >/dev/null 2>&1; then bad "unknown option accepted"; else ok "unknown option rejected"; fi

# --- the README stays true: every amk train option is in its option table, and its library
# example is the file the install test builds and runs ------------------------------------
"$AMK" train --help >train_help.txt
if $PY - "$REPO/README.md" "$REPO/tests/install/main.cpp" <<'PY'; then
import re, sys
readme, example = open(sys.argv[1]).read(), open(sys.argv[2]).read().rstrip("\n")
options = sorted(set(re.findall(r"^\s+(--[a-z0-9-]+)", open("train_help.txt").read(), re.M)) - {"--help"})
missing = [o for o in options if f"`{o}" not in readme]
assert len(options) > 40 and not missing, f"options of amk train missing from README.md: {missing}"
assert f"```cpp\n{example}\n```" in readme, "README.md's library example is not tests/install/main.cpp"
PY
  ok "README.md names every amk train option and shows tests/install/main.cpp as its library example"
else bad "README.md is out of date"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
