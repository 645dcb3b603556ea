#!/usr/bin/python3
"""Strong and weak scaling of `amk train` over MPI ranks on one machine: the real training
step (batch draw, gradient, sum over ranks, Adam) on the built-in Gaussian path, or on a
snapshot file's time-snapshot shards (--data), read from metrics.jsonl's split of the step
time (compute, communication, I/O).

  /usr/bin/python3 perf/scaling.py --amk build-tests/apps/amk [--ranks 1 2] [--widths 64 256]
      [--batch 1024] [--dim 3] [--data FILE.h5] [--steps 300]
      [--mpiexec "mpirun --allow-run-as-root --oversubscribe"]

Strong: the global batch fixed at --batch; weak: --batch per rank. Ranks > 1 run with one
BLAS thread each (OPENBLAS_NUM_THREADS=1), one rank with the library's default threads.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import tempfile


def step_times(amk, mpiexec, ranks, width, batch, dim, steps, data=None):
    """Median over the logged windows (the first left out) of ms per step, compute and communication."""
    with tempfile.TemporaryDirectory() as out:
        source = ["--data", data] if data else ["--path", "gaussian", "--dim", str(dim)]
        cmd = [amk, "train", *source, "--width", str(width), "--batch", str(batch),
               "--steps", str(steps), "--log-every", str(max(1, steps // 6)), "--checkpoint-every", str(10 * steps),
               "--out", out]
        env = dict(os.environ)
        if ranks > 1:
            cmd = [*shlex.split(mpiexec), "-np", str(ranks), *cmd]
            env["OPENBLAS_NUM_THREADS"] = "1"
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        with open(os.path.join(out, "metrics.jsonl")) as f:
            lines = [json.loads(x) for x in f][1:]
    return {k: statistics.median(j[k] for j in lines) for k in ("ms_per_step", "ms_compute", "ms_communication")}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--amk", required=True)
    p.add_argument("--mpiexec", default="mpirun --allow-run-as-root --oversubscribe")
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--widths", type=int, nargs="+", default=[64, 256])
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--dim", type=int, default=3)
    p.add_argument("--data", help="train on this snapshot file's shards instead of the Gaussian path")
    p.add_argument("--steps", type=int, default=300)
    a = p.parse_args()
    print(f"{'width':>6}{'ranks':>6}{'mode':>8}{'batch':>7}{'ms/step':>10}{'compute':>10}{'comm':>9}"
          f"{'speed-up':>10}{'efficiency':>12}")
    for width in a.widths:
        base = None
        for ranks in a.ranks:
            for mode, batch in (("strong", a.batch), ("weak", a.batch * ranks)):
                if ranks == 1 and mode == "weak":
                    continue
                t = step_times(os.path.abspath(a.amk), a.mpiexec, ranks, width, batch, a.dim, a.steps,
                               os.path.abspath(a.data) if a.data else None)
                base = base or t["ms_per_step"]
                # strong: time ratio; weak: throughput ratio (samples per second against one rank's)
                speedup = base / t["ms_per_step"] * (batch / a.batch)
                print(f"{width:>6}{ranks:>6}{mode:>8}{batch:>7}{t['ms_per_step']:>10.2f}{t['ms_compute']:>10.2f}"
                      f"{t['ms_communication']:>9.3f}{speedup:>9.2f}x{100 * speedup / ranks:>11.0f}%")


if __name__ == "__main__":
    main()
