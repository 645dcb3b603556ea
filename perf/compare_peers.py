#!/usr/bin/python3
"""amk against its peers, side by side: for each shape, every round runs each
implementation once in turn (so that drifts in machine load hit all alike), and the
table gives each one's median step time over the rounds and amk's same-round speed
ratios against JAX (the median of the per-round ratios, and in how many rounds amk won).

  /usr/bin/python3 perf/compare_peers.py --amk build/apps/amk [--mpi 2] [--amk-serial build-serial/apps/amk]
      [--jax /opt/venv-jax/bin/python] [--torch2 /opt/venv-torch2/bin/python] [--torch1 /usr/bin/python3]
      [--shapes 2x64,2x128,2x256,2x1024,784x256,2x256:float64] [--loss am|eam --sigma S]
      [--depth 3 --batch 1024 --steps 20 --rounds 3] [--json out.json] [--markdown]

Implementations (each one left out when its option is empty), every one with its defaults (no
environment variables set):
  amk         `amk bench` of the README's build (Kokkos 3.4 with OpenMP over the OpenMP OpenBLAS,
              run-example.sh's), one process: every phase of the step on every core
  amk-mpi     the same binary, flat MPI: mpirun -np N (Open MPI binds each rank to a core, so
              each runs one thread), the batch split over the ranks (`amk bench` reports the
              global figures)
  amk-serial  `amk bench` of a build on Debian's binary Kokkos (Serial), one process: OpenBLAS's
              threads use the cores inside the matrix products only
  jax         perf/jax_am.py (jit over the whole step; XLA uses every core)
  torch2      perf/torch_am.py under a current PyTorch 2.x (its faster thread count
              on 2 cores: 2)
  torch1      the same under Debian's PyTorch 1.13 (its faster thread count: 1)
amk runs --engine auto (its measured choice, reported) and --draw once, as the peers reuse
one batch. Peak memory (max RSS) is each process's (for amk-mpi: the largest rank's,
through the mpirun process tree: not reported).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env=None):
    """Runs cmd; returns (its last JSON line, max RSS in MiB of the process, from wait4)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, **(env or {})))
    out, err = p.stdout.read(), p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        sys.exit(f"compare_peers: {' '.join(cmd)} failed (exit {p.returncode}): {err.strip()[-500:]}")
    return json.loads(lines[-1]), usage.ru_maxrss / 1024.0


def parse_shape(text):
    """"DxW[:dtype]" -> (d, w, dtype)."""
    dims, _, dtype = text.partition(":")
    d, w = dims.split("x")
    return int(d), int(w), dtype or "float32"


def commands(a, d, w, dtype):
    shape = ["--dim", str(d), "--width", str(w), "--depth", str(a.depth), "--batch", str(a.batch),
             "--steps", str(a.steps)]
    sigma = ["--sigma", str(a.sigma)] if a.loss == "eam" else []
    amk_args = ["bench", *shape, "--dtype", "float" if dtype == "float32" else "double", "--draw", "once",
                "--loss", a.loss, *sigma] + (["--laplacian", "exact"] if a.loss == "eam" else [])
    peer = [*shape, "--dtype", dtype, *sigma]
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    impls = {}
    if a.amk:
        impls["amk"] = ([a.amk, *amk_args], None)
    if a.amk and a.mpi > 1:
        impls["amk-mpi"] = (["mpirun", *root, "-np", str(a.mpi), a.amk, *amk_args], None)
    if a.amk_serial:
        impls["amk-serial"] = ([a.amk_serial, *amk_args], None)
    if a.jax:
        impls["jax"] = ([a.jax, os.path.join(HERE, "jax_am.py"), *peer], None)
    if a.torch2:
        impls["torch2"] = ([a.torch2, a.torch, *peer, "--threads", "2"], None)
    if a.torch1:
        impls["torch1"] = ([a.torch1, a.torch, *peer, "--threads", "1"], None)
    return impls


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--amk", default="build/apps/amk", help="the README's build's amk ('' to leave out)")
    p.add_argument("--mpi", type=int, default=2, help="ranks of the flat-MPI run of --amk (0/1: leave out)")
    p.add_argument("--amk-serial", default="", help="the amk of a build on Debian's Serial Kokkos")
    p.add_argument("--jax", default="/opt/venv-jax/bin/python", help="a Python with jax")
    p.add_argument("--torch2", default="/opt/venv-torch2/bin/python", help="a Python with PyTorch 2.x")
    p.add_argument("--torch1", default="/usr/bin/python3", help="a Python with Debian's PyTorch 1.13")
    p.add_argument("--torch", default=os.path.join(HERE, "torch_am.py"), help="the PyTorch peer")
    p.add_argument("--shapes", default="2x64,2x128,2x256,2x1024,784x256,2x256:float64",
                   help="comma-separated DxW[:float32|float64]")
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--loss", default="am", choices=["am", "eam"], help="eam: entropic AM, exact Laplacian, all")
    p.add_argument("--sigma", type=float, default=1.0)
    p.add_argument("--json", help="write every run's figures here")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    a = p.parse_args()
    shapes = [parse_shape(s) for s in a.shapes.split(",")]
    results = []
    for d, w, dtype in shapes:
        impls = commands(a, d, w, dtype)
        runs = {k: [] for k in impls}
        for r in range(a.rounds):
            order = list(impls) if r % 2 == 0 else list(reversed(impls))  # alternate who goes first
            for k in order:
                runs[k].append(run(*impls[k]))
        med = {k: statistics.median(j["median_step_s"] for j, _ in v) for k, v in runs.items()}
        row = {"dim": d, "width": w, "dtype": dtype, "loss": a.loss, "median_step_s": med,
               "max_rss_mib": {k: max(m for _, m in v) for k, v in runs.items()},
               "engine": {k: v[0][0].get("engine") for k, v in runs.items() if k.startswith("amk")},
               "runs": {k: [j for j, _ in v] for k, v in runs.items()}}
        if "jax" in runs:  # same-round ratios JAX time / amk time: > 1 is amk ahead
            row["vs_jax"] = {}
            for k in runs:
                if k.startswith("amk"):
                    ratios = [j["median_step_s"] / m["median_step_s"] for (m, _), (j, _) in zip(runs[k], runs["jax"])]
                    row["vs_jax"][k] = {"median": statistics.median(ratios), "won": sum(x > 1 for x in ratios),
                                        "rounds": len(ratios)}
        results.append(row)
        print_row(row, first=len(results) == 1, markdown=a.markdown, a=a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"batch": a.batch, "depth": a.depth, "steps": a.steps, "rounds": a.rounds, "results": results},
                      f, indent=1)


def print_row(row, first, markdown, a):
    impls = list(row["median_step_s"])
    def cell(k):
        ms = 1e3 * row["median_step_s"][k]
        text = f"{ms:.3g} ms"
        if k in row.get("engine", {}):
            text += f" ({row['engine'][k]})"
        if k in row.get("vs_jax", {}):
            v = row["vs_jax"][k]
            text += f" {v['median']:.2f}x {v['won']}/{v['rounds']}"
        return text
    name = f"d {row['dim']}, w {row['width']}" + (", float64" if row["dtype"] == "float64" else "")
    if first:
        print(f"loss {a.loss}{' (exact Laplacian, sigma ' + str(a.sigma) + ')' if a.loss == 'eam' else ''}, "
              f"depth {a.depth}, batch {a.batch}, median of {a.steps} steps, {a.rounds} alternating rounds; "
              "amk cells: time (engine) JAX-time/amk-time same-round median, rounds won")
        if markdown:
            print("| shape | " + " | ".join(impls) + " |")
            print("|---" * (len(impls) + 1) + "|")
        else:
            print(f"{'shape':<20}" + "".join(f"{k:>30}" for k in impls))
    if markdown:
        print(f"| {name} | " + " | ".join(cell(k) for k in impls) + " |", flush=True)
    else:
        print(f"{name:<20}" + "".join(f"{cell(k):>30}" for k in impls), flush=True)


if __name__ == "__main__":
    main()
