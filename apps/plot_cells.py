#!/usr/bin/python3
"""Pictures of the real-data example (apps/cells_experiment.sh; h5py and matplotlib).

  plot_cells.py unmoved --data CELLS.h5 --out UNMOVED.h5
      the first snapshot copied to every snapshot time (/times, /x as amk sample writes): the
      W1 of cells that do not move at all, the scale against which the learned push is read
  plot_cells.py plot --data CELLS.h5 --samples SAMPLES.h5 --eval EVAL.json --unmoved EVAL0.json \\
                     --growth GROWTH.json --out PICTURE.png
      (a) the stages and the pushed cells on PC1-PC2, coloured by time (marker area ~ weight);
      (b) the pushed cells' trajectories; (c) the learned per-capita growth rate against the
      data's (ln 2: the embryo doubles per stage); (d) exact W1 per stage, pushed and unmoved.
"""
import argparse
import json

import h5py
import numpy as np


def snapshots(path):
    with h5py.File(path, "r") as f:
        times, x, off = f["times"][:], f["x"][:], f["offsets"][:]
    return times, [x[off[k]:off[k + 1]] for k in range(len(times))]


def unmoved(a):
    times, snaps = snapshots(a.data)
    with h5py.File(a.out, "w") as f:
        f["times"] = times
        f["x"] = np.stack([snaps[0]] * len(times))


def plot(a):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times, snaps = snapshots(a.data)
    with h5py.File(a.samples, "r") as f:
        st, sx = f["times"][:], f["x"][:]
        logw = f["log_weights"][:] if "log_weights" in f else np.zeros(sx.shape[:2])
    pushed = json.load(open(a.eval))["results"]
    still = json.load(open(a.unmoved))["results"]
    growth = json.load(open(a.growth))["growth"]["per_snapshot"]
    cmap = plt.get_cmap("viridis")
    colour = lambda T: cmap((T - times[0]) / (times[-1] - times[0]))
    fig, ax = plt.subplots(1, 4, figsize=(22, 5.2))

    for T, x in zip(times, snaps):
        ax[0].scatter(x[:, 0], x[:, 1], s=9, color=colour(T), alpha=0.35, label=f"{int(round(2 ** T))}-cell stage")
    for T in times:
        i = int(np.argmin(np.abs(st - T)))
        w = np.exp(logw[i] - logw[i].max())
        ax[0].scatter(sx[i, :, 0], sx[i, :, 1], s=80 * w / w.mean(), color=colour(T), marker="x", linewidths=1.2)
    ax[0].set_title("stages (dots) and amk's push of the 2-cell stage (x, area ~ weight)")
    ax[0].legend(fontsize=7, loc="best")

    for x in snaps:
        ax[1].scatter(x[:, 0], x[:, 1], s=5, color="0.8")
    for j in range(sx.shape[1]):
        for i in range(len(st) - 1):
            ax[1].plot(sx[i:i + 2, j, 0], sx[i:i + 2, j, 1], color=colour(st[i]), lw=1)
    ax[1].scatter(sx[0, :, 0], sx[0, :, 1], s=20, color=colour(st[0]), zorder=3)
    ax[1].set_title("trajectories of the 19 cells of the 2-cell stage")
    for k in (0, 1):
        ax[k].set_xlabel("PC1")
        ax[k].set_ylabel("PC2")

    T = [g["time"] for g in growth]
    rate = np.array([g["learned_rate"] for g in growth])
    sd = np.array([g["learned_rate_sd"] for g in growth])
    ax[2].errorbar(T, rate, yerr=sd, marker="o", capsize=3, label="learned (mean ± sd over the stage's cells)")
    ax[2].plot(T, [g["data_rate"] for g in growth], "s--", label="data: d log M/dT from the cell counts")
    ax[2].axhline(np.log(2), color="k", lw=0.8, ls=":", label="ln 2 (doubling per stage)")
    ax[2].set_ylim(0, 1.2)
    ax[2].set_xlabel("T = log2(cell count)")
    ax[2].set_ylabel("per-capita growth rate")
    ax[2].set_title("growth")
    ax[2].legend(fontsize=8)

    T = [r["time"] for r in pushed[1:]]
    ax[3].plot(T, [r["w1"] for r in pushed[1:]], "o-", label="amk uam: pushed 2-cell stage")
    ax[3].plot([r["time"] for r in still[1:]], [r["w1"] for r in still[1:]], "s--", color="0.5",
               label="the 2-cell stage not moved")
    for r in pushed[1:]:
        ax[3].annotate(f"mass {100 * r['mass_error']:.1f}% off", (r["time"], r["w1"]), fontsize=7,
                       textcoords="offset points", xytext=(4, -10))
    ax[3].set_xlabel("T")
    ax[3].set_ylabel("exact W1 (normalised distributions, PC units)")
    ax[3].set_title("W1 to each stage")
    ax[3].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"plot_cells: wrote {a.out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("unmoved")
    u.add_argument("--data", required=True)
    u.add_argument("--out", required=True)
    p = sub.add_parser("plot")
    for name in ("data", "samples", "eval", "unmoved", "growth", "out"):
        p.add_argument(f"--{name}", required=True)
    a = ap.parse_args()
    {"unmoved": unmoved, "plot": plot}[a.cmd](a)


if __name__ == "__main__":
    main()
