#!/usr/bin/python3
"""Pictures of the hydrogen experiment (h5py, numpy, matplotlib; run with /usr/bin/python3).

  plot_hydrogen.py grid --data DATA.h5 --times T... --out GRID.h5
      points for `amk field`: a 25x25 grid in the x-z plane (y = 0) over the data's range
      at each time (/x [n, 3], /t [n])
  plot_hydrogen.py plot --data DATA.h5 --samples SAMPLES.h5 --grid GRID.h5 --field FIELD.h5 \\
                        --eval MMD.json VELOCITY.json [--reference REPORT.json] --out DIR
      DIR/densities.png    true (data) and learned (amk sample from snapshot 0) densities,
                           projected on the x-y, x-z and y-z planes, at 5 times
      DIR/trajectories.png a few particles: true Bohmian paths (the data's rows) and learned
      DIR/field.png        the learned velocity in the x-z plane over the true density
      DIR/curves.png       MMD^2 (reference kernel) and velocity error over time
      DIR/density.gif      the x-z density over time, true and learned side by side
SAMPLES.h5 must start from the whole snapshot 0 (amk sample --n 0), so that its particle i
is the data's particle i.
"""
import json
import os
import sys

import h5py
import numpy as np

PLANES = ((0, 1), (0, 2), (1, 2))
AXES = "xyz"


def snapshots(path):
    with h5py.File(path, "r") as f:
        times, x, off = f["times"][:], f["x"][:], f["offsets"][:]
    if x.shape[1] != 3:
        sys.exit(f"plot_hydrogen: {path} has d = {x.shape[1]}, not 3")
    return times, x, off


def extent(x):
    lo, hi = np.percentile(x, 0.5, axis=0), np.percentile(x, 99.5, axis=0)
    half = 0.55 * (hi - lo).max()
    centre = 0.5 * (lo + hi)
    return centre - half, centre + half


def grid(a):
    _, x, _ = snapshots(a.data)
    lo, hi = extent(x)
    gx, gz = np.meshgrid(np.linspace(lo[0], hi[0], 25), np.linspace(lo[2], hi[2], 25))
    pts = np.stack([gx.ravel(), np.zeros(gx.size), gz.ravel()], 1)
    with h5py.File(a.out, "w") as f:
        f["x"] = np.concatenate([pts] * len(a.times))
        f["t"] = np.repeat(np.array(a.times, dtype=float), len(pts))


def nearest(times, t):
    return int(np.argmin(np.abs(np.asarray(times) - t)))


def plot(a):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    os.makedirs(a.out, exist_ok=True)
    times, x, off = snapshots(a.data)
    snap = lambda k: x[off[k]:off[k + 1]]
    with h5py.File(a.samples, "r") as f:
        st, sx = f["times"][:], f["x"][:]
    ev = {}
    for path in a.eval:
        with open(path) as f:
            ev.update(json.load(f))
    ref = None
    if a.reference:
        with open(a.reference) as f:
            ref = json.load(f)
    lo, hi = extent(x)
    bins = [np.linspace(lo[i], hi[i], 60) for i in range(3)]
    shown = [st[nearest(st, t)] for t in np.linspace(st[0], st[-1], 5)]

    # densities: for each plane a row of true and a row of learned histograms
    fig, axes = plt.subplots(6, len(shown), figsize=(2.6 * len(shown), 15.5), constrained_layout=True)
    for c, t in enumerate(shown):
        true, learned = snap(nearest(times, t)), sx[nearest(st, t)]
        for p, (i, j) in enumerate(PLANES):
            for r, (pts, who) in enumerate(((true, "data"), (learned, "amk"))):
                ax = axes[2 * p + r, c]
                ax.hist2d(pts[:, i], pts[:, j], bins=[bins[i], bins[j]], cmap="magma")
                ax.set_xticks([]), ax.set_yticks([])
                if c == 0:
                    ax.set_ylabel(f"{who}: {AXES[i]}-{AXES[j]}")
                if p == 0 and r == 0:
                    ax.set_title(f"t = {t:g}")
    fig.suptitle("hydrogen (3,2,-1)+(2,1,0): data |psi_t|^2 and amk's learned density, projected")
    fig.savefig(os.path.join(a.out, "densities.png"), dpi=80)
    plt.close(fig)

    # trajectories: particle i of the data is particle i of the samples
    fig, axes = plt.subplots(1, 3, figsize=(15, 5), constrained_layout=True)
    rng = np.random.default_rng(1)
    chosen = rng.choice(sx.shape[1], 6, replace=False)
    ks = [nearest(times, t) for t in st]
    for n, i in enumerate(chosen):
        colour = plt.get_cmap("tab10")(n)
        path = np.array([snap(k)[i] for k in ks])
        for ax, (p, q) in zip(axes, PLANES):
            ax.plot(path[:, p], path[:, q], color=colour, lw=1.2)
            ax.plot(sx[:, i, p], sx[:, i, q], color=colour, lw=1.2, ls="--")
            ax.plot(path[0, p], path[0, q], "o", color=colour)
    for ax, (p, q) in zip(axes, PLANES):
        ax.set_xlabel(AXES[p]), ax.set_ylabel(AXES[q]), ax.set_aspect("equal", adjustable="datalim")
    axes[0].set_title("true Bohmian paths (solid) and amk's (dashed), from o")
    fig.savefig(os.path.join(a.out, "trajectories.png"), dpi=80)
    plt.close(fig)

    # the learned velocity in the x-z plane over the true x-z density
    with h5py.File(a.grid, "r") as f:
        gx, gt = f["x"][:], f["t"][:]
    with h5py.File(a.field, "r") as f:
        v = f["grad_x"][:]
    gtimes = np.unique(gt)
    fig, axes = plt.subplots(1, len(gtimes), figsize=(4.2 * len(gtimes), 4.4), constrained_layout=True,
                             squeeze=False)
    for ax, t in zip(axes[0], gtimes):
        m = gt == t
        true = snap(nearest(times, t))
        ax.hist2d(true[:, 0], true[:, 2], bins=[bins[0], bins[2]], cmap="Greys")
        ax.quiver(gx[m, 0], gx[m, 2], v[m, 0], v[m, 2], color="crimson", angles="xy")
        ax.set_title(f"t = {t:g}"), ax.set_xlabel("x"), ax.set_ylabel("z"), ax.set_aspect("equal")
    fig.suptitle("learned velocity (v_x, v_z) at y = 0 over the data's x-z density")
    fig.savefig(os.path.join(a.out, "field.png"), dpi=80)
    plt.close(fig)

    # MMD^2 and velocity error over time
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(13, 4.5), constrained_layout=True)
    res = [r for r in ev["results"] if r["time"] > times[0]]
    ax0.plot([r["time"] for r in res], [abs(r["mmd2"]) for r in res], "o-", label="amk")
    vel = ev["velocity"]["snapshots"]
    ax1.plot([s["time"] for s in vel], [s["relative_l2"] for s in vel], label=f"amk ({ev['velocity']['relative_l2']:.3f})")
    if ref:
        mt = [(t, m) for t, m in zip(ref["mmd_times"], ref["mmd2"]) if t > times[0]]
        ax0.plot([t for t, _ in mt], [abs(m) for _, m in mt], "s-", label="reference code")
        rv = ref["velocity_per_snapshot"]
        ax1.plot([s["time"] for s in rv], [s["relative_l2"] for s in rv],
                 label=f"reference code ({ref['velocity_relative_l2']:.3f})")
    ax0.set_yscale("log"), ax0.set_xlabel("t"), ax0.set_ylabel("|MMD^2|, kernel sum_j exp(-1e-4 |x-y|^2)")
    ax0.set_title("samples moved from snapshot 0 vs data"), ax0.legend()
    ax1.set_yscale("log"), ax1.set_xlabel("t"), ax1.set_ylabel("relative L2 error of grad_x s")
    ax1.set_title(f"velocity vs grad arg psi ({100 * ev['velocity']['excluded_fraction']:g} % of points, nearest "
                  "the nodes, left out)"), ax1.legend()
    fig.savefig(os.path.join(a.out, "curves.png"), dpi=80)
    plt.close(fig)

    # animation of the x-z density
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8, 4.2), constrained_layout=True)
    frames = range(0, len(st), max(1, len(st) // 25))

    def draw(n):
        for ax, pts, who in ((ax0, snap(nearest(times, st[n])), "data"), (ax1, sx[n], "amk")):
            ax.clear()
            ax.hist2d(pts[:, 0], pts[:, 2], bins=[bins[0], bins[2]], cmap="magma")
            ax.set_title(f"{who}, t = {st[n]:.0f}"), ax.set_xticks([]), ax.set_yticks([])

    FuncAnimation(fig, draw, frames=frames).save(os.path.join(a.out, "density.gif"), writer=PillowWriter(fps=6), dpi=50)
    plt.close(fig)
    print(f"plot_hydrogen: wrote {', '.join(n for n in ('densities.png', 'trajectories.png', 'field.png', 'curves.png', 'density.gif'))} in {a.out}")


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from plot_dynamics import parse

    def options(q):
        q.add_argument("--eval", nargs="+", required=True, help="amk eval reports: --samples (MMD) and --velocity")
        q.add_argument("--reference", help="report.json of perf/hydrogen_reference.py: its curves too")

    a = parse(__doc__, options)
    grid(a) if a.cmd == "grid" else plot(a)


if __name__ == "__main__":
    main()
