#!/usr/bin/python3
"""Pictures of learned dynamics in 2-D (uses h5py and matplotlib; run with /usr/bin/python3).

  plot_dynamics.py grid --data DATA.h5 --times T... --out GRID.h5
      points for `amk field`: a 21x21 grid over the data's range at each time (/x [n,2], /t [n])
  plot_dynamics.py plot --data DATA.h5 --samples SAMPLES.h5 --grid GRID.h5 --field FIELD.h5 \
                        [--eval EVAL.json] --out PICTURE.png
      left: data snapshots and the trajectories of `amk sample`; right: the learned velocity
      field grad_x s at each grid time over the nearest snapshot.
"""
import argparse
import json
import sys

import h5py
import numpy as np


def snapshots(path):
    with h5py.File(path, "r") as f:
        times, x, off = f["times"][:], f["x"][:], f["offsets"][:]
    if x.shape[1] != 2:
        sys.exit(f"plot_dynamics: {path} has d = {x.shape[1]}; pictures are drawn for d = 2 only")
    return times, [x[off[k]:off[k + 1]] for k in range(len(times))]


def grid(a):
    times, snaps = snapshots(a.data)
    allx = np.concatenate(snaps)
    lo, hi = np.percentile(allx, 0.5, axis=0), np.percentile(allx, 99.5, axis=0)
    pad = 0.05 * (hi - lo)
    gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 21), np.linspace(lo[1] - pad[1], hi[1] + pad[1], 21))
    pts = np.stack([gx.ravel(), gy.ravel()], 1)
    with h5py.File(a.out, "w") as f:
        f["x"] = np.concatenate([pts] * len(a.times))
        f["t"] = np.repeat(np.array(a.times, dtype=float), len(pts))


def plot(a):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    times, snaps = snapshots(a.data)
    with h5py.File(a.samples, "r") as f:
        st, sx = f["times"][:], f["x"][:]
    with h5py.File(a.grid, "r") as f:
        gx, gt = f["x"][:], f["t"][:]
    with h5py.File(a.field, "r") as f:
        v = f["grad_x"][:]
    cmap = plt.get_cmap("viridis")
    colour = lambda t: cmap((t - times[0]) / (times[-1] - times[0]))
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(13, 6), constrained_layout=True)
    for t, x in zip(times, snaps):
        ax0.scatter(x[:400, 0], x[:400, 1], s=3, color=colour(t), alpha=0.25)
    for i in range(min(150, sx.shape[1])):
        ax0.plot(sx[:, i, 0], sx[:, i, 1], color="0.3", lw=0.5, alpha=0.6)
    ax0.scatter(sx[-1, :, 0], sx[-1, :, 1], s=4, color="crimson", label=f"amk sample at t = {st[-1]:g}")
    title = "data snapshots (colour = time) and sampled trajectories"
    if a.eval:
        with open(a.eval) as f:
            r = json.load(f)["results"][-1]
        title += f"\nenergy distance {r['energy_distance']:.4f}, MMD² {r['mmd2']:.2e} at t = {r['time']:g}"
    ax0.set_title(title)
    ax0.legend(loc="best")
    for t in np.unique(gt):
        k = int(np.argmin(np.abs(times - t)))
        ax1.scatter(snaps[k][:400, 0], snaps[k][:400, 1], s=3, color=colour(t), alpha=0.2)
        m = gt == t
        ax1.quiver(gx[m, 0], gx[m, 1], v[m, 0], v[m, 1], color=colour(t), angles="xy", alpha=0.8, label=f"t = {t:g}")
    ax1.set_title("learned velocity field ∇ₓs (amk field)")
    ax1.legend(loc="best")
    for ax in (ax0, ax1):
        ax.set_aspect("equal", adjustable="datalim")
    fig.savefig(a.out + ".tmp.png", dpi=110)
    import os
    os.replace(a.out + ".tmp.png", a.out)
    print(f"plot_dynamics: wrote {a.out}")


def parse(doc, plot_options):
    """The command line of the picture scripts: `grid` (points for amk field) and `plot`
    (--data, --samples, --grid, --field, --out and the script's plot_options(parser))."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grid")
    g.add_argument("--data", required=True)
    g.add_argument("--times", type=float, nargs="+", required=True)
    g.add_argument("--out", required=True)
    q = sub.add_parser("plot")
    for name in ("data", "samples", "grid", "field", "out"):
        q.add_argument("--" + name, required=True)
    plot_options(q)
    return p.parse_args()


def main():
    a = parse(__doc__, lambda q: q.add_argument("--eval"))
    grid(a) if a.cmd == "grid" else plot(a)


if __name__ == "__main__":
    main()
