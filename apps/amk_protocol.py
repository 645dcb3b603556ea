#!/usr/bin/python3
"""The trajectory-inference protocols of the literature, run with amk (README § Real data):

  all-times       train on every snapshot; push the first snapshot to each later time (amk
                  sample); score each against its snapshot (TIGON, DeepRUOT, Var-RUOT Tables 1-2)
  leave-one-out   for each held-out snapshot k: train without it; push snapshot k-1 to t_k;
                  score against snapshot k (TorchCFM/[SF]2M; Var-RUOT Tables 14-15)

over several seeds, with mean and standard deviation; writes DIR/protocol.json and
DIR/protocol.md. Scores: exact W1 and W2 (amk eval, both sets normalised to a probability, in
the data's own coordinates), the energy distance and, for unbalanced AM, the relative mass error.

  apps/amk_protocol.py --amk build/apps/amk --data emt.csv --protocol all-times --seeds 5 \\
      --out emt-all [--time-column C] [--dims N] [--label NAME] [-- extra amk train options]
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import h5py
import numpy as np


def amk(binary, *args):
    p = subprocess.run([binary, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"amk_protocol: {' '.join(map(str, args[:1]))} failed: {p.stderr.strip()}")
    return p.stdout


def snapshots(binary, args, out):
    """The data as amk's HDF5 file (a table is converted once, with the import options)."""
    if not args.data.lower().endswith(".csv"):
        return args.data
    path = os.path.join(out, "data.h5")
    extra = (["--time-column", args.time_column] if args.time_column else []) + (["--dims", args.dims] if args.dims else [])
    amk(binary, "convert", "--data", args.data, *extra, "--out", path)
    return path


def without(data, k, path):
    """The data file without snapshot k."""
    with h5py.File(data, "r") as f:
        times, x, off = f["times"][:], f["x"][:], f["offsets"][:]
        mass = f["mass"][:] if "mass" in f else None
        smass = f["snapshot_mass"][:] if "snapshot_mass" in f else None
    keep = [j for j in range(len(times)) if j != k]
    with h5py.File(path, "w") as f:
        f["times"] = times[keep]
        f["x"] = np.concatenate([x[off[j]:off[j + 1]] for j in keep])
        f["offsets"] = np.concatenate([[0], np.cumsum([off[j + 1] - off[j] for j in keep])]).astype(np.int64)
        if mass is not None:
            f["mass"] = np.concatenate([mass[off[j]:off[j + 1]] for j in keep])
        if smass is not None:
            f["snapshot_mass"] = smass[keep]
    return path


def score(binary, data, samples, to_time):
    """amk eval of pushed samples against the snapshot at to_time."""
    report = json.loads(amk(binary, "eval", "--data", data, "--samples", samples).strip().splitlines()[-1])
    (r,) = [r for r in report["results"] if abs(r["time"] - to_time) <= 1e-9 * max(1.0, abs(to_time))]
    return {key: r[key] for key in ("w1", "w2", "energy_distance", "mass_error") if key in r}


def run_amk(binary, extra, train_data, data, seed, run_dir, pushes):
    """amk train, then amk sample for each push (start snapshot, time, integration steps, samples file)."""
    amk(binary, "train", "--data", train_data, "--seed", seed, "--out", run_dir, *extra)
    checkpoint = os.path.join(run_dir, "checkpoint.h5")
    for start, to_time, steps, samples in pushes:
        amk(binary, "sample", "--checkpoint", checkpoint, "--data", data, "--from-snapshot", start, "--to-time",
            to_time, "--steps", steps, "--record-every", steps, "--n", 0, "--seed", seed, "--out", samples)


def run_peer(command, train_data, data, seed, run_dir, pushes):
    """A peer's command line (perf/otcfm_peer.py's interface): it trains and writes the pushed samples."""
    os.makedirs(run_dir, exist_ok=True)
    args = [*shlex.split(command), "--data", train_data, "--full-data", data, "--seed", str(seed), "--out", run_dir]
    for start, to_time, _, samples in pushes:
        args += ["--push", f"{start}:{to_time!r}:{samples}"]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"amk_protocol: the peer failed: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def summary(label, options, runs, walls, targets, times):
    row = {"label": label, "options": options, "train_wall_s_mean": float(np.mean(walls)), "times": {}}
    for k in targets:
        entry = {"time": float(times[k])}
        for key in runs[k][0]:
            v = np.array([s[key] for s in runs[k]])
            entry[key] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                          "runs": v.tolist()}
        row["times"][f"t{k}"] = entry
    return row


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--amk", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--protocol", choices=["all-times", "leave-one-out"], required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--held-out", type=int, nargs="*", help="leave-one-out: snapshots to hold out (default: 1 … K-2)")
    ap.add_argument("--time-column", default="")
    ap.add_argument("--dims", type=int, default=0)
    ap.add_argument("--steps-per-unit", type=float, default=0, help="integration steps per unit of time (default: 100 per interval)")
    ap.add_argument("--label", default="amk")
    ap.add_argument("--peer", default="", help="a peer's command, run beside amk on the same files and scored "
                    "by the same amk eval, e.g. '/opt/venv-cfm/bin/python perf/otcfm_peer.py'")
    ap.add_argument("--peer-label", default="OT-CFM (TorchCFM)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if args.seeds < 1:
        sys.exit("amk_protocol: --seeds must be at least 1")
    binary = os.path.abspath(args.amk)
    os.makedirs(args.out, exist_ok=True)
    data = snapshots(binary, args, args.out)
    with h5py.File(data, "r") as f:
        times = f["times"][:]
    K = len(times)
    targets = list(range(1, K)) if args.protocol == "all-times" else (args.held_out or list(range(1, K - 1)))
    for k in targets:
        if not 1 <= k < K or (args.protocol == "leave-one-out" and K < 3):
            sys.exit(f"amk_protocol: snapshot {k} cannot be held out of {K}")
    trainers = [args.label] + ([args.peer_label] if args.peer else [])
    per_seed = {label: {k: [] for k in targets} for label in trainers}
    walls = {label: [] for label in trainers}
    for seed in range(args.seeds):
        runs = [(None, data)] if args.protocol == "all-times" else \
            [(k, without(data, k, os.path.join(args.out, f"without{k}.h5"))) for k in targets]
        for held, train_data in runs:
            for label in trainers:
                run_dir = os.path.join(args.out, ("peer_" if label != args.label else "") + f"seed{seed}" +
                                       ("" if held is None else f"_without{held}"))
                pushes = []
                for k in (targets if held is None else [held]):
                    start = 0 if held is None else k - 1
                    span = times[k] - times[start]
                    steps = max(10, int(round(span * args.steps_per_unit))) if args.steps_per_unit > 0 else 100 * (k - start)
                    pushes.append((start, times[k], steps, os.path.join(run_dir, f"t{k}.samples.h5")))
                t0 = time.time()
                if label == args.label:
                    run_amk(binary, extra, train_data, data, seed, run_dir, pushes)
                else:
                    peer_name = run_peer(args.peer, train_data, data, seed, run_dir, pushes).get("peer", "")
                walls[label].append(time.time() - t0)
                for (start, to_time, _, samples), k in zip(pushes, (targets if held is None else [held])):
                    s = score(binary, data, samples, to_time)
                    per_seed[label][k].append(s)
                    print(f"[{label}] seed {seed} t{k} = {times[k]:g}: W1 {s['w1']:.4f}, W2 {s['w2']:.4f}", flush=True)
    rows = [summary(label, extra if label == args.label else shlex.split(args.peer), per_seed[label], walls[label],
                    targets, times) for label in trainers]
    table = {"protocol": args.protocol, "data": args.data, "seeds": args.seeds, "rows": rows}
    if args.peer:
        table["peer"] = peer_name
    with open(os.path.join(args.out, "protocol.json"), "w") as f:
        json.dump(table, f, indent=2)
    head = " | ".join(f"t{k}" for k in targets)
    md = f"| W1 ({args.protocol}, {args.seeds} seeds) | {head} | train + push s |\n|---|" + "---|" * len(targets) + "---|\n"
    for row in rows:
        cells = " | ".join(f"{row['times'][f't{k}']['w1']['mean']:.3f} ± {row['times'][f't{k}']['w1']['sd']:.3f}"
                           for k in targets)
        md += f"| {row['label']} | {cells} | {row['train_wall_s_mean']:.0f} |\n"
    with open(os.path.join(args.out, "protocol.md"), "w") as f:
        f.write(md)
    print(md, end="")


if __name__ == "__main__":
    main()
