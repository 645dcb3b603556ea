#!/usr/bin/python3
"""Runs `amk bench` and the PyTorch peer (shared/perf-ref/torch_am.py) with the same
settings, alternating them --rounds times, and prints a table of median step times,
their ratio and the peak memory (max RSS) of each process.

  /usr/bin/python3 perf/compare_torch.py --amk build/apps/amk --torch ../shared/perf-ref/torch_am.py \
      --dim 2 --width 256 --depth 3 --batch 1024 [--steps 20] [--rounds 3] [--engine auto|gemm|fused] [--draw once|each]
      [--loss am|eam|uam] [--sigma S] [--laplacian exact|hutchinson] [--probes M] [--json out.json]
The peer computes plain AM, or entropic AM with the exact Laplacian (--sigma); it has no
unbalanced AM, whose extra ½s² term costs nothing in the sweeps: --loss uam compares amk's
uam step with the peer's plain step.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def run(cmd):
    """Runs cmd; returns (its last JSON line, max RSS in MiB) via wait4's rusage."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    # communicate() reaped the child; rusage of the child is in RUSAGE_CHILDREN deltas, so
    # run it again under wait4 for an exact per-process figure
    if p.returncode != 0:
        sys.exit(f"compare_torch: {' '.join(cmd)} failed: {err.strip()}")
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def run_rss(cmd):
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    return usage.ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--amk", default="build/apps/amk")
    p.add_argument("--torch", default=os.path.join(os.path.dirname(__file__), "../../shared/perf-ref/torch_am.py"))
    p.add_argument("--dim", type=int, default=2)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--engine", default="auto", choices=["auto", "gemm", "fused"], help="amk's derivative engine")
    p.add_argument("--draw", default="once", choices=["once", "each"],
                   help="once (default): amk reuses one batch, as torch_am.py does; each: amk also times a new batch draw")
    p.add_argument("--loss", default="am", choices=["am", "eam", "uam"])
    p.add_argument("--sigma", type=float, default=1.0, help="eam: the diffusion sigma (both)")
    p.add_argument("--laplacian", default="exact", choices=["exact", "hutchinson"], help="amk's Laplacian (eam)")
    p.add_argument("--probes", type=int, default=1, help="amk's Hutchinson probes (eam)")
    p.add_argument("--json")
    a = p.parse_args()
    shape = ["--dim", str(a.dim), "--width", str(a.width), "--depth", str(a.depth), "--batch", str(a.batch),
             "--steps", str(a.steps)]
    amk = [a.amk, "bench", *shape, "--dtype", "float" if a.dtype == "float32" else "double", "--engine", a.engine,
           "--draw", a.draw, "--loss", a.loss]
    torch = ["/usr/bin/python3", a.torch, *shape, "--dtype", a.dtype]
    if a.loss == "eam":
        amk += ["--sigma", str(a.sigma), "--laplacian", a.laplacian, "--probes", str(a.probes)]
        torch += ["--sigma", str(a.sigma)]
    rows = {"amk": [], "torch": []}
    for _ in range(a.rounds):  # alternate, so that drifts in machine load hit both
        rows["amk"].append(run(amk))
        rows["torch"].append(run(torch))
    rss = {"amk": run_rss(amk), "torch": run_rss(torch)}
    med = {k: statistics.median(r["median_step_s"] for r in v) for k, v in rows.items()}
    print(f"loss {a.loss}{' (' + a.laplacian + ' Laplacian)' if a.loss == 'eam' else ''}, "
          f"shape: d={a.dim} width={a.width} depth={a.depth} batch={a.batch} {a.dtype}, "
          f"{a.rounds} alternating rounds of {a.steps} steps, amk batch draw: {a.draw}")
    print(f"{'impl':<28}{'median step (ms)':>18}{'samples/s':>12}{'max RSS (MiB)':>15}")
    first = rows["amk"][0]
    for k, impl in (("amk", f"{first['impl']} ({first['engine']})"), ("torch", rows["torch"][0]["impl"])):
        print(f"{impl:<28}{1e3 * med[k]:>18.2f}{a.batch / med[k]:>12.0f}{rss[k]:>15.0f}")
    ratio = med["torch"] / med["amk"]
    gf = statistics.median(r["gflops"] for r in rows["amk"])
    ceiling = statistics.median(r["gemm_gflops"] for r in rows["amk"])
    print(f"speed-up of amk over PyTorch (median step time ratio): {ratio:.2f}x; "
          f"amk achieves {gf:.1f} GFLOP/s, {100 * gf / ceiling:.0f}% of the in-run GEMM rate ({ceiling:.0f} GFLOP/s)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"runs": rows, "median_step_s": med, "max_rss_mib": rss, "speedup": ratio}, f, indent=2)


if __name__ == "__main__":
    main()
