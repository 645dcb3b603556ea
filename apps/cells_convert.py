#!/usr/bin/python3
"""The Guo et al. (2010) mouse-embryo qPCR time course as amk's snapshot file (README § Real data).

  apps/cells_convert.py --csv guo.csv --dims 5 --out cells.h5

guo.csv: apps/cells_experiment.sh writes it from Debian's r-bioc-destiny (data/guo_norm.rda,
428 cells x 48 genes, normalised Ct values; column `stage` = the embryo's cell count 2 ... 64).
Time is the cell cycle, T = log2(stage) (1 ... 6), so that the embryo's cell count doubles per
unit of time; each snapshot's mass is that count relative to the first (1, 2, ..., 32: the growth
unbalanced AM learns, d log M/dT = ln 2), not the number of cells profiled (19 ... 159). The
coordinates are the first --dims principal components of all cells (genes centred, not scaled);
/pca_mean, /pca_components and /pca_variance_ratio keep the projection.
"""
import argparse
import csv
import sys

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--dims", type=int, default=5)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    try:
        with open(args.csv) as f:
            rows = list(csv.reader(f))
    except OSError as e:
        sys.exit(f"cells_convert: cannot read {args.csv}: {e.strerror}")
    if not rows:
        sys.exit(f"cells_convert: {args.csv} is empty")
    header, body = rows[0], rows[1:]
    if not body or header[0] != "stage":
        sys.exit(f"cells_convert: {args.csv}: expected a header starting with 'stage' and at least one cell")
    try:
        stage = np.array([float(r[0]) for r in body])
        genes = np.array([[float(v) for v in r[1:]] for r in body])
    except ValueError as e:
        sys.exit(f"cells_convert: {args.csv}: a value is not a number ({e})")
    if genes.ndim != 2 or genes.shape[1] < 1:
        sys.exit(f"cells_convert: {args.csv}: the rows do not all have the header's {len(header) - 1} genes")
    if not np.all(stage > 0):
        sys.exit(f"cells_convert: {args.csv}: a stage (cell count) is not positive")
    if not 1 <= args.dims <= genes.shape[1]:
        sys.exit(f"cells_convert: --dims must be 1 ... {genes.shape[1]}")
    if not np.all(np.isfinite(genes)):
        sys.exit(f"cells_convert: {args.csv}: non-finite expression values")
    mean = genes.mean(0)
    _, sv, vt = np.linalg.svd(genes - mean, full_matrices=False)
    components = vt[:args.dims]
    pcs = (genes - mean) @ components.T
    stages = np.unique(stage)
    order = np.concatenate([np.flatnonzero(stage == s) for s in stages])
    counts = np.array([np.sum(stage == s) for s in stages])
    with h5py.File(args.out, "w") as f:
        f["times"] = np.log2(stages)
        f["x"] = pcs[order]
        f["offsets"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        f["snapshot_mass"] = stages / stages[0]
        f["pca_mean"] = mean
        f["pca_components"] = components
        f["pca_variance_ratio"] = (sv ** 2 / np.sum(sv ** 2))[:args.dims]
        f.attrs["genes"] = ",".join(header[1:])
    print(f"cells_convert: {len(stages)} stages ({', '.join(f'{int(s)}-cell: {c}' for s, c in zip(stages, counts))}), "
          f"{args.dims} PCs ({100 * np.sum(sv[:args.dims] ** 2) / np.sum(sv ** 2):.0f}% of the variance) -> {args.out}")


if __name__ == "__main__":
    main()
