#!/usr/bin/env bash
# The hydrogen experiment (README § Hydrogen) with a built amk; `./run-example.sh hydrogen`
# installs, builds and runs it.
#   apps/hydrogen_experiment.sh AMK     (env: OUT, CONFIG, STEPS, REFERENCE; see run-example.sh;
#                                        SNAPSHOTS, SAMPLES: a smaller data set than the paper's)
# Data: amk datagen hydrogen (the paper's 1001 snapshots x 5000 samples over T = 14000);
# training: CONFIG for STEPS steps; trajectories: Euler with 1000 steps from the whole first
# snapshot, as the reference code evaluates; metrics: avg |MMD^2| with the reference kernel
# at t = T/10, 2T/10, ..., T and the velocity error against grad arg psi.
set -euo pipefail
AMK=$(realpath "$1")
cd "$(dirname "$0")/.."
OUT=${OUT:-hydrogen-out}
CONFIG=${CONFIG:-apps/configs/hydrogen-fast.toml}
STEPS=${STEPS:-5000}
SNAPSHOTS=${SNAPSHOTS:-1001}
SAMPLES=${SAMPLES:-5000}
PY=/usr/bin/python3
mkdir -p "$OUT"
rm -rf "$OUT/run" "$OUT/reference"
"$AMK" datagen hydrogen --snapshots "$SNAPSHOTS" --samples "$SAMPLES" --out "$OUT/data.h5"
"$AMK" train --config "$CONFIG" --data "$OUT/data.h5" --out "$OUT/run" --steps "$STEPS" --log-every 500 \
  --checkpoint-every 1000 | tee "$OUT/train.log"
"$AMK" sample --checkpoint "$OUT/run/checkpoint.h5" --data "$OUT/data.h5" --from-snapshot 0 --to-time 14000 \
  --steps 1000 --method euler --record-every 10 --n 0 --out "$OUT/samples.h5"
"$AMK" eval --data "$OUT/data.h5" --samples "$OUT/samples.h5" --mmd-kernel reference --max-samples 5000 \
  --out "$OUT/eval_mmd.json" >/dev/null
"$AMK" eval --data "$OUT/data.h5" --velocity hydrogen --checkpoint "$OUT/run/checkpoint.h5" --max-samples 200 \
  --out "$OUT/eval_velocity.json" >/dev/null
$PY apps/plot_hydrogen.py grid --data "$OUT/data.h5" --times 0 3500 7000 10500 14000 --out "$OUT/grid.h5"
"$AMK" field --checkpoint "$OUT/run/checkpoint.h5" --points "$OUT/grid.h5" --out "$OUT/field.h5" >/dev/null
REF_ARGS=()
if [ -n "${REFERENCE:-}" ]; then
  $PY perf/hydrogen_reference.py --reference "$REFERENCE" --amk "$AMK" --data "$OUT/data.h5" --steps "$STEPS" \
    --out "$OUT/reference"
  REF_ARGS=(--reference "$OUT/reference/report.json")
fi
$PY apps/plot_hydrogen.py plot --data "$OUT/data.h5" --samples "$OUT/samples.h5" --grid "$OUT/grid.h5" \
  --field "$OUT/field.h5" --eval "$OUT/eval_mmd.json" "$OUT/eval_velocity.json" "${REF_ARGS[@]}" --out "$OUT"
$PY - "$OUT" <<'PYEOF'
import json, re, sys
out = sys.argv[1]
mmd, vel = json.load(open(f"{out}/eval_mmd.json")), json.load(open(f"{out}/eval_velocity.json"))["velocity"]
res = mmd["results"]
T0, T = res[0]["time"], res[-1]["time"] - res[0]["time"]
at = lambda rs: [abs(m) for t, m in rs if t > T0 and abs((t - T0) / (T / 10) - round((t - T0) / (T / 10))) < 1e-6]
log = open(f"{out}/train.log").read()
steps, wall = re.findall(r"step (\d+)/", log)[-1], float(re.search(r"done in ([0-9.]+) s", log).group(1))
rows = [("amk", int(steps), wall, sum(at([(r["time"], r["mmd2"]) for r in res])) / 10, vel["relative_l2"])]
try:
    ref = json.load(open(f"{out}/reference/report.json"))
    rows.append(("reference code", ref["steps"], ref["train_seconds"],
                 sum(at(list(zip(ref["mmd_times"], ref["mmd2"])))) / 10, ref["velocity_relative_l2"]))
except FileNotFoundError:
    pass
print("| code | steps | training wall time | ms/step | avg abs MMD^2 (10 times) | velocity error |")
print("|---|---|---|---|---|---|")
for name, n, w, m, v in rows:
    print(f"| {name} | {n} | {w:.0f} s | {1e3 * w / n:.1f} | {m:.3g} | {100 * v:.1f} % |")
PYEOF
echo "hydrogen_experiment: pictures in $OUT/ (densities.png, trajectories.png, field.png, curves.png, density.gif)"
