#!/usr/bin/env bash
# The real-data example (README § Real data): the Guo et al. (2010) mouse embryo, 2- to 64-cell
# stages, 48 genes by qPCR, 428 cells, from Debian's own r-bioc-destiny package (no download
# beyond Debian's archive). `./run-example.sh cells` installs, builds and runs it.
#   apps/cells_experiment.sh AMK      (env: OUT, STEPS; needs Rscript with Biobase:
#                                      apt-get install r-base-core r-bioc-biobase)
# Conversion (apps/cells_convert.py): T = log2(cell count) = 1 ... 6, the first 5 principal
# components, each stage's mass = its cell count relative to the first (the embryo doubles per
# unit of T). Training: unbalanced AM with default options; trajectories: RK4 from the 19 cells
# of the 2-cell stage to T = 6; metrics: exact W1 to each stage (normalised distributions), the
# mass error, and the learned growth rate against ln 2.
set -euo pipefail
AMK=$(realpath "$1")
cd "$(dirname "$0")/.."
OUT=${OUT:-cells-out}
STEPS=${STEPS:-2000}
PY=/usr/bin/python3
command -v Rscript >/dev/null || { echo "cells_experiment: Rscript not found (apt-get install r-base-core r-bioc-biobase)" >&2; exit 2; }
mkdir -p "$OUT"
rm -rf "$OUT/run" "$OUT/deb"
if [ ! -s "$OUT/guo.csv" ]; then
  mkdir -p "$OUT/deb"
  (cd "$OUT/deb" && apt-get -o APT::Sandbox::User=root download r-bioc-destiny >/dev/null && dpkg-deb -x r-bioc-destiny_*.deb root)
  Rscript - "$OUT/deb/root/usr/lib/R/site-library/destiny/data/guo_norm.rda" "$OUT/guo.csv" <<'REOF'
suppressMessages(library(Biobase))
args <- commandArgs(trailingOnly = TRUE)
guo <- get(load(args[1]))
write.csv(data.frame(stage = pData(guo)$num_cells, t(exprs(guo)), check.names = FALSE), args[2], row.names = FALSE)
REOF
  rm -rf "$OUT/deb"
fi
$PY apps/cells_convert.py --csv "$OUT/guo.csv" --dims 5 --out "$OUT/cells.h5"
"$AMK" train --data "$OUT/cells.h5" --loss uam --out "$OUT/run" --steps "$STEPS" --log-every 500 | tee "$OUT/train.log"
"$AMK" sample --checkpoint "$OUT/run/checkpoint.h5" --data "$OUT/cells.h5" --from-snapshot 0 --to-time 6 \
  --steps 500 --record-every 10 --n 0 --out "$OUT/samples.h5"
"$AMK" eval --data "$OUT/cells.h5" --samples "$OUT/samples.h5" --out "$OUT/eval.json" >/dev/null
"$AMK" eval --data "$OUT/cells.h5" --checkpoint "$OUT/run/checkpoint.h5" --growth --out "$OUT/growth.json" >/dev/null
# the reference for W1: the first stage's cells not moved at all
$PY apps/plot_cells.py unmoved --data "$OUT/cells.h5" --out "$OUT/unmoved.h5"
"$AMK" eval --data "$OUT/cells.h5" --samples "$OUT/unmoved.h5" --out "$OUT/eval_unmoved.json" >/dev/null
$PY apps/plot_cells.py plot --data "$OUT/cells.h5" --samples "$OUT/samples.h5" --eval "$OUT/eval.json" \
  --unmoved "$OUT/eval_unmoved.json" --growth "$OUT/growth.json" --out "$OUT/cells.png"
