#!/usr/bin/python3
"""`amk train` stopped and continued, as schedulers and crashes do it: SIGTERM (the notice
before a wall-clock limit) stops every rank at a step boundary with a checkpoint and exit 0,
and --resume then ends bitwise where an uninterrupted run ends; SIGKILL at any moment
leaves a checkpoint that opens and resumes, and `amk sample`/`field` outputs whole or not at
all. Each test is one ctest entry:
    test_run_control.py AMK WORKDIR TEST [MPIEXEC FLAGS...]
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

from closed_form import QUICK, check, rank_killing_env, registry, run, run_test

TESTS, test = registry()


# A small run whose steps take about a millisecond: long enough to be interrupted. Its runs are
# never shortened (run(..., full=True)): the stopped, resumed and reference runs must all be
# this long; the sanitizer stage runs fewer steps throughout instead.
STEPS = 2000 if QUICK else 10000
OPTIONS = ["--steps", STEPS, "--width", 32, "--batch", 128, "--log-every", 100, "--checkpoint-every", 1000]


def data(amk):
    run(amk, "datagen", "gaussian", "--dim", 2, "--snapshots", 6, "--samples", 600, "--t0", 1, "--t1", 3,
        "--offset", 10, "--out", "data.h5")
    return "data.h5"


def state(path):
    """The checkpoint's step and every array it restores from."""
    with h5py.File(path, "r") as f:
        return int(f.attrs["step"]), {k: f[k][:] for k in ("params", "ema", "adam_m", "adam_v")}


def losses(out):
    """step -> loss of OUT/metrics.jsonl."""
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return {j["step"]: j["loss"] for j in map(json.loads, f)}


def start(launcher, amk, out, options=OPTIONS, env=None):
    cmd = [*launcher, amk, "train", "--data", "data.h5", "--out", out, *map(str, options)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def wait_for_step(p, step):
    """Reads p's progress lines until `step N/` with N >= step; returns what it read."""
    seen = []
    for line in p.stdout:
        seen.append(line)
        if line.startswith("step ") and int(line.split()[1].split("/")[0]) >= step:
            return seen
    raise RuntimeError("the run ended before step %d:\n%s" % (step, "".join(seen)))


def ranks(p, launcher):
    """The amk processes: p itself, or the launcher's children named amk."""
    if not launcher:
        return [p.pid]
    out = subprocess.run(["pgrep", "-P", str(p.pid), "-f", "train --data"], stdout=subprocess.PIPE, text=True)
    return [int(x) for x in out.stdout.split()]


def stop_and_resume(amk, launcher, label):
    """Reference run; the same run stopped by SIGTERM to ONE rank at step >= 500, then
    resumed: every rank exits 0 at the same step with one checkpoint, and the resumed run's
    checkpoint and logged losses equal the reference's bit for bit."""
    run(*launcher, amk, "train", "--data", "data.h5", "--out", "reference", *OPTIONS, log="reference.log", full=True)
    p = start(launcher, amk, "stopped")
    seen = wait_for_step(p, 500)
    os.kill(ranks(p, launcher)[-1], signal.SIGTERM)
    t = time.time()
    rest, _ = p.communicate(timeout=60)
    log = "".join(seen) + rest
    print(log.splitlines()[-1])
    check(p.returncode == 0, f"{label}: SIGTERM: exit 0 (got {p.returncode})")
    check(time.time() - t < 10, f"{label}: stopped within {time.time() - t:.1f} s of the signal")
    check("amk train: stopped by" in log and "continue with --resume" in log, f"{label}: one line says so")
    step, _ = state("stopped/checkpoint.h5")
    check(500 <= step < STEPS, f"{label}: the checkpoint holds the step it stopped at ({step})")
    run(*launcher, amk, "train", "--data", "data.h5", "--out", "stopped", *OPTIONS, "--resume", log="resumed.log")
    ref_step, ref = state("reference/checkpoint.h5")
    end, got = state("stopped/checkpoint.h5")
    check(end == ref_step == STEPS, f"{label}: the resumed run ends at step {STEPS}")
    for k in ref:
        check(np.array_equal(ref[k], got[k]), f"{label}: /{k} after stop + resume equals the uninterrupted run's, bitwise")
    a, b = losses("reference"), losses("stopped")
    check(a == b, f"{label}: every logged loss equals the uninterrupted run's ({len(a)} lines)")
    # the step time split into compute, communication (the sums over ranks) and I/O (checkpoints)
    with open("reference/metrics.jsonl") as f:
        lines = [json.loads(x) for x in f]
    split = all(abs(j["ms_compute"] + j["ms_communication"] + j["ms_io"] - j["ms_per_step"]) < 1e-9 and
                min(j["ms_compute"], j["ms_communication"], j["ms_io"]) >= 0 for j in lines)
    check(split, f"{label}: metrics.jsonl splits every step's time into compute + communication + I/O")
    # a checkpoint is written after its step's log line: its time shows in the next line
    check(all(j["ms_io"] > 0 for j in lines if j["step"] % 1000 == 100 and j["step"] > 1000), f"{label}: checkpoint writes count as I/O")
    multi = bool(launcher)
    check(all((j["ms_communication"] > 0) == multi for j in lines),
          f"{label}: communication time {'> 0' if multi else '0 on one rank'}")
    with open("reference.log") as f:
        check(" MiB per rank at most" in f.readline(), f"{label}: the start line reports the data each rank holds")


@test
def sigterm_resume_bitwise(amk, work, *mpiexec):
    data(amk)
    stop_and_resume(amk, [], "1 rank")


@test
def sigterm_resume_bitwise_mpi(amk, work, *mpiexec):
    """On 2 ranks the signal reaches one of them (as when a scheduler's notice races); on
    3 ranks and on 1 a 2-rank checkpoint continues to the end."""
    data(amk)
    stop_and_resume(amk, [*mpiexec, "-np", "2"], "2 ranks")
    with h5py.File("reference/checkpoint.h5", "r") as f:
        check(int(f.attrs["ranks"]) == 2, "the checkpoint stores the rank count that wrote it")
    for np_, out in ((3, "reference"), (1, "stopped")):
        log = run(*mpiexec, "-np", np_, amk, "train", "--data", "data.h5", "--out", out, *OPTIONS, "--steps",
                  STEPS + 500, "--resume", log=f"np{np_}.log")
        check("written by 2 ranks" in log, f"the resume on {np_} says the checkpoint came from 2 ranks")
        end, arrays = state(f"{out}/checkpoint.h5")
        check(end == STEPS + 500 and all(np.isfinite(v).all() for v in arrays.values()),
              f"a 2-rank checkpoint continues on {np_} rank{'s' if np_ > 1 else ''} to step {end}")


@test
def three_ranks_survive_sigterm_and_sigkill(amk, work, *mpiexec):
    """`mpirun -np 3 amk train` on shards (3 time windows of the 6 snapshots): SIGTERM to one
    rank stops all three with one checkpoint, and --resume ends bitwise where the
    uninterrupted 3-rank run ends; SIGKILL to one rank ends the job within seconds, and its
    last checkpoint resumes on 3 ranks to the end."""
    data(amk)
    launcher = [*mpiexec, "-np", "3"]
    stop_and_resume(amk, launcher, "3 ranks")
    with h5py.File("reference/checkpoint.h5", "r") as f:
        shards = json.loads(f.attrs["shards"])
    check((shards["ranks_time"], shards["ranks_sample"]) == (3, 1) and
          [r["snapshots"] for r in shards["shards"]] == [[0, 1], [1, 3], [3, 5]],
          "the checkpoint stores the rank grid and each rank's window")
    options = ["--width", 32, "--batch", 128, "--log-every", 20, "--checkpoint-every", 20]
    p = start(launcher, amk, "killed", ["--steps", 100000, *options], env=rank_killing_env())
    wait_for_step(p, 300)
    os.kill(ranks(p, launcher)[1], signal.SIGKILL)
    t = time.time()
    p.communicate(timeout=60)
    check(p.returncode != 0 and time.time() - t < 20,
          f"SIGKILL to one rank ends the job in {time.time() - t:.1f} s (exit {p.returncode})")
    step, arrays = state("killed/checkpoint.h5")
    check(step >= 280 and all(np.isfinite(v).all() for v in arrays.values()),
          f"the checkpoint opens at step {step} with finite state")
    run(*launcher, amk, "train", "--data", "data.h5", "--out", "killed", *options, "--steps", step + 100, "--resume",
        log="resumed.log")
    check(state("killed/checkpoint.h5")[0] == step + 100, "it resumes on 3 ranks to its end")


@test
def sigkill_keeps_a_checkpoint(amk, work, *mpiexec):
    """A SIGKILL campaign: 24 kills of a run that checkpoints every 2 steps, resuming after
    each; every other kill at a random moment, the rest the moment a write's temporary file
    appears. Every time the checkpoint left behind opens through amk, which checks
    its CRC-32 (`amk field` reads it), holds finite state at a later step, and resumes; the
    last resume runs to its end. It prints how many kills interrupted a write (a temporary
    file left behind)."""
    data(amk)
    with h5py.File("points.h5", "w") as f:
        f["x"], f["t"] = np.full((4, 2), 10.0), np.linspace(1, 3, 4)
    rng = random.Random(7)
    options = ["--width", 16, "--batch", 64, "--log-every", 2, "--checkpoint-every", 2]
    step, in_write = 0, 0
    kills = 6 if QUICK else 24
    for kill in range(kills):
        # a temporary file left by the previous kill stays: the next write must replace it
        started = time.time()
        p = start([], amk, "killed", ["--steps", 10 ** 7, *options] + (["--resume"] if kill else []))
        wait_for_step(p, step + 6)
        tmp = "killed/checkpoint.h5.tmp"
        if kill % 2:
            # aimed: the moment a new write's temporary file appears (a slow build, as under a
            # sanitizer, makes steps long against the write, so random moments rarely land in one)
            deadline = time.time() + 10
            while time.time() < deadline and not (os.path.exists(tmp) and os.path.getmtime(tmp) >= started):
                time.sleep(0.0002)
        else:
            time.sleep(rng.uniform(0, 0.02))
        p.kill()
        p.wait()
        in_write += os.path.exists(tmp) and os.path.getmtime(tmp) >= started - 0.01
        before, step = step, state("killed/checkpoint.h5")[0]
        arrays = state("killed/checkpoint.h5")[1]
        run(amk, "field", "--checkpoint", "killed/checkpoint.h5", "--points", "points.h5", "--out", "field.h5")
        check(step > before and all(np.isfinite(v).all() for v in arrays.values()),
              f"kill {kill + 1}: the checkpoint validates at step {step} (after {before}) with finite state")
    print(f"{kills} kills survived, {in_write} of them inside a checkpoint write")
    check(in_write >= max(2, kills // 4), f"at least {max(2, kills // 4)} kills landed inside a write ({in_write})")
    run(amk, "train", "--data", "data.h5", "--out", "killed", *options, "--steps", step + 100, "--resume",
        log="resumed.log")
    check(state("killed/checkpoint.h5")[0] == step + 100, "the last checkpoint resumes to its end")


@test
def sample_and_field_outputs_survive_sigkill(amk, work, *mpiexec):
    """`amk sample` and `amk field` killed at random moments while they replace an earlier
    output: the file left is always the old one, byte for byte, or the complete new one."""
    data(amk)
    run(amk, "train", "--data", "data.h5", "--out", "run", "--steps", 50, "--width", 16, "--batch", 64)
    with h5py.File("points.h5", "w") as f:
        f["x"], f["t"] = np.random.default_rng(0).normal(10, 1, (200000, 2)), np.full(200000, 2.0)
    jobs = {"sample": (["sample", "--checkpoint", "run/checkpoint.h5", "--data", "data.h5", "--to-time", 3,
                        "--steps", 400, "--record-every", 1], "moved.h5"),
            "field": (["field", "--checkpoint", "run/checkpoint.h5", "--points", "points.h5"], "field.h5")}
    rng = random.Random(11)
    for name, (args, out) in jobs.items():
        began = time.time()
        run(amk, *args, "--out", "new_" + out)  # the complete new output, for comparison
        duration = time.time() - began
        with h5py.File("new_" + out, "r") as f:
            new = {k: f[k][:] for k in f}

        def complete(path):  # the new output's content (HDF5 stores object times: not its bytes)
            try:
                with h5py.File(path, "r") as f:
                    return set(f) == set(new) and all(np.array_equal(f[k][:], v) for k, v in new.items())
            except OSError:
                return False
        kept = {"old": 0, "new": 0}
        for kill in range(3 if QUICK else 10):
            with open(out, "wb") as f:
                f.write(b"the old output")
            p = subprocess.Popen([str(c) for c in [amk, *args, "--out", out]], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, 1.1) * duration)  # around the end, where the write is
            p.kill()
            p.wait()
            with open(out, "rb") as f:
                old = f.read() == b"the old output"
            check(old or complete(out), f"{name}, kill {kill + 1}: the old output or the complete new one")
            kept["old" if old else "new"] += 1
        print(f"amk {name}: {sum(kept.values())} kills, old output kept {kept['old']} times, new one complete {kept['new']} times")


@test
def io_error_on_one_rank_ends_the_job(amk, work, *mpiexec):
    """An I/O error on one rank (rank 0 cannot create the checkpoint's temporary file) ends
    every rank within seconds with that rank's one-line message and a non-zero exit; the
    previous checkpoint stays as it was."""
    data(amk)
    launcher = [*mpiexec, "-np", "2"]
    options = ["--width", 16, "--batch", 64, "--checkpoint-every", 100]
    run(*launcher, amk, "train", "--data", "data.h5", "--out", "run", "--steps", 200, *options)
    with open("run/checkpoint.h5", "rb") as f:
        before = f.read()
    os.mkdir("run/checkpoint.h5.tmp")  # the write's temporary name is taken (as root, a mode would not stop it)
    t = time.time()
    p = subprocess.run([str(c) for c in [*launcher, amk, "train", "--data", "data.h5", "--out", "run", "--steps", 400,
                                         *options, "--resume"]],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    errors = [line for line in p.stdout.splitlines() if line.startswith("amk: error:")]
    print("\n".join(errors))
    check(p.returncode != 0, f"non-zero exit ({p.returncode})")
    check(time.time() - t < 30, f"the job ended in {time.time() - t:.1f} s")
    check(len(errors) == 1 and "cannot create the temporary file" in errors[0], "one message, naming the problem")
    with open("run/checkpoint.h5", "rb") as f:
        check(f.read() == before, "the previous checkpoint is intact")


@test
def one_rank_dies(amk, work, *mpiexec):
    """One rank of `mpirun -np 2` and of `-np 3` killed (SIGKILL) or crashing (SIGSEGV, SIGABRT)
    in the middle of training, when the others are in or near a collective: the whole job ends
    within seconds with a non-zero exit and mpirun's message naming the rank and the signal;
    no rank is left waiting; the last checkpoint opens."""
    data(amk)
    options = ["--steps", 10 ** 6, "--width", 16, "--batch", 64, "--log-every", 50, "--checkpoint-every", 50]
    for np_, victim, sig in [(2, 1, signal.SIGKILL), (2, 0, signal.SIGSEGV), (3, 2, signal.SIGABRT),
                             (3, 1, signal.SIGKILL)]:
        launcher = [*mpiexec, "-np", str(np_)]
        out = f"np{np_}-{sig.name}"
        p = start(launcher, amk, out, options, env=rank_killing_env())
        wait_for_step(p, 200)
        pids = ranks(p, launcher)
        check(len(pids) == np_, f"np {np_}: {len(pids)} amk processes")
        os.kill(pids[victim], sig)
        t = time.time()
        rest, _ = p.communicate(timeout=60)
        elapsed = time.time() - t
        left = subprocess.run(["pgrep", "-f", "--", f"--out {out} "], stdout=subprocess.PIPE, text=True).stdout.split()
        check(p.returncode != 0 and elapsed < 15 and not left,
              f"np {np_}, {sig.name} to rank {victim}: the job ended in {elapsed:.1f} s (exit {p.returncode}), "
              f"no rank left")
        check(f"rank {victim}" in rest and ("signal %d" % sig.value) in rest,
              f"np {np_}, {sig.name}: mpirun names rank {victim} and signal {sig.value}")
        step, arrays = state(f"{out}/checkpoint.h5")
        check(step >= 150 and all(np.isfinite(v).all() for v in arrays.values()),
              f"np {np_}, {sig.name}: the checkpoint opens at step {step} with finite state")


if __name__ == "__main__":
    sys.exit(run_test(TESTS))
