#!/usr/bin/python3
"""--engine auto (the default) chooses by measurement, the way a user runs it: `amk train`
in physical units times every engine that fits on its first batch, reports the times in its
start line, trains with the fastest and keeps the result in $XDG_CACHE_HOME/amk/engines.json
for the next run of that shape on this machine; `amk bench` under mpirun reports global
figures. Each test is one ctest entry:
    test_engine_auto.py AMK WORKDIR TEST [MPIEXEC FLAGS...]
"""
import json
import os
import re
import subprocess
import sys
import time

import h5py
import numpy as np

from closed_form import (DIM, OFFSET, PATH, QUICK, T0, T1, TIMES, check, registry, run, run_test, velocity_error,
                         within)


TESTS, test = registry()


# width 32: both engines run it (the fused kernel's buffers fit), so auto must time them. The
# sanitizer stage runs 300 steps (not a twentieth: 75 would leave the network untrained)
OPTIONS = ["--steps", 300 if QUICK else 1500, "--batch", 256, "--width", 32, "--log-every", 100]
ENGINES = ("gemm", "fused")  # the registry's, in its order
START = re.compile(r"(\w+) engine \(auto: (timed|cached)(?: \((?P<rounds>\d+) rounds: [^)]*\))? "
                   r"((?:\w+ [0-9.e+-]+ ms(?:, )?)+) a step(?: \(re-timed: (?P<retimed>[^)]*)\))?"
                   r"(?:, (?:kept in|from) ([^,)]+))?(?:, not kept: ([^)]*))?\)")


def data(amk):
    run(amk, "datagen", "gaussian", "--dim", DIM, "--snapshots", 11, "--samples", 2000, "--t0", T0, "--t1", T1,
        "--offset", OFFSET, "--out", "data.h5")
    return "data.h5"


def train(amk, out, *extra, env=None):
    """Runs amk train; returns (engine, timed|cached, {engine: ms}, cache path, why not kept)."""
    saved = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        log = run(amk, "train", "--data", "data.h5", "--out", out, *OPTIONS, *extra, log=out + ".log", full=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    start = log.splitlines()[0]
    print(start)
    m = START.search(start)
    check(m is not None, f"{out}: the start line reports auto's times ({start})")
    engine, how, _, times, _, path, why = m.groups()
    train.retimed, train.rounds = m.group("retimed"), int(m.group("rounds") or 1)
    ms = {name: float(value) for name, value in (t.rsplit(" ", 2)[:2] for t in times.split(", "))}
    check(tuple(ms) == ENGINES, f"{out}: every engine timed, in the registry's order ({times})")
    return engine, how, ms, path, why


def params(out):
    with h5py.File(os.path.join(out, "checkpoint.h5"), "r") as f:
        return f["params"][:], f["ema"][:]


def cache_entries(path):
    with open(path) as f:
        return json.load(f)


@test
def measures_and_keeps(amk, work, *_):
    """First run: both engines timed, the faster one trains (the right dynamics), the times
    kept in the cache; the same engine given by name trains bitwise the same weights (the
    timing leaves no trace on the run); the second run reads the cache and does the same."""
    os.environ["XDG_CACHE_HOME"] = os.path.join(work, "cache")
    cache = os.path.join(work, "cache", "amk", "engines.json")
    data(amk)
    engine, how, ms, path, why = train(amk, "first")
    check(how == "timed" and path == cache and why is None, f"timed and kept in {cache}")
    check(all(t > 0 for t in ms.values()), "every engine timed")
    ratio, rounds = max(ms.values()) / min(ms.values()), train.rounds
    check(rounds == 3 or ratio >= 1.15, f"timed again while within 15 %: {rounds} round(s), ratio {ratio:.3f}")
    entries = cache_entries(cache)
    check(len(entries) == 1, "one cache entry")
    (key, entry), = entries.items()
    check(entry["engine"] == engine and set(entry["seconds"]) == set(ENGINES) and
          all(abs(entry["seconds"][e] * 1e3 / ms[e] - 1) < 1e-2 for e in ENGINES),
          f"the entry holds the engine and the times of the start line: {entry}")
    k = json.loads(key)
    check(k["network"]["width"] == 32 and k["network"]["dim"] == DIM and k["ranks"] == 1 and k["dtype"] == "float",
          f"the key names the shape: {k}")
    err = velocity_error(amk, "first/checkpoint.h5", PATH, TIMES, work)
    print(f"relative L2 velocity error {err:.4f}")
    within(err, 0.1, 0.2, "velocity error")  # measured 0.05; 300 steps 0.11
    with h5py.File("first/checkpoint.h5", "r") as f:
        recorded = f.attrs["engine"].decode()  # a fixed-length HDF5 string
        check(recorded == engine, f"the checkpoint records the engine ({recorded})")
    # the named engine: bitwise the same training; the other engine: another rounding (so the
    # equality shows which engine ran)
    other = next(e for e in ENGINES if e != engine)
    run(amk, "train", "--data", "data.h5", "--out", "named", *OPTIONS, "--engine", engine, log="named.log", full=True)
    run(amk, "train", "--data", "data.h5", "--out", "other", *OPTIONS, "--engine", other, log="other.log", full=True)
    check(all(np.array_equal(a, b) for a, b in zip(params("first"), params("named"))),
          f"--engine {engine} trains bitwise the weights auto trained with it")
    check(not np.array_equal(params("first")[0], params("other")[0]), f"--engine {other} rounds otherwise")
    engine2, how2, ms2, path2, _ = train(amk, "second")
    check(how2 == "cached" and path2 == cache and (engine2, ms2) == (engine, ms),
          "the second run takes the cached choice and reports its times (a close one after 3 rounds too)")
    check(all(np.array_equal(a, b) for a, b in zip(params("first"), params("second"))),
          "and trains bitwise the same weights")


@test
def cache_is_read_and_repaired(amk, work, *_):
    """An entry that says the other engine is faster is followed (the cache is read, not
    just written); a malformed file or entry is measured again and rewritten; a cache that
    cannot be written, or no HOME, still trains (the start line says why nothing was kept)."""
    os.environ["XDG_CACHE_HOME"] = os.path.join(work, "cache")
    cache = os.path.join(work, "cache", "amk", "engines.json")
    data(amk)
    engine, _, _, _, _ = train(amk, "measured")
    other = next(e for e in ENGINES if e != engine)
    entries = cache_entries(cache)
    (key, _), = entries.items()
    check(abs(entries[key]["measured_at"] - time.time()) < 3600, "the entry says when it was measured")
    forged = {e: (1e-3 if e == other else 2e-3) for e in ENGINES}
    entries[key] = {"engine": other, "seconds": forged, "measured_at": time.time() - 86400}
    with open(cache, "w") as f:
        json.dump(entries, f)
    engine2, how2, ms2, _, _ = train(amk, "forged")
    check((engine2, how2, ms2) == (other, "cached", {e: t * 1e3 for e, t in forged.items()}),
          f"a cached entry naming {other} is followed, with its times")
    # measured again: times within 15 % (1.0 and 1.1 ms) in one round, 31 days old, or undated
    for label, seconds, measured, why in (("close", {e: (1e-3 if e == other else 1.1e-3) for e in ENGINES},
                                           time.time(), "within 15 %"),
                                          ("old", forged, time.time() - 31 * 86400, "31 days old"),
                                          ("undated", forged, None, "did not say when")):
        entry = {"engine": other, "seconds": seconds}
        if measured is not None:
            entry["measured_at"] = measured
        with open(cache, "w") as f:
            json.dump({key: entry}, f)
        _, how, ms, _, _ = train(amk, "stale_" + label)
        check(how == "timed" and why in (train.retimed or "") and ms != {e: t * 1e3 for e, t in seconds.items()},
              f"a {label} entry is measured again ({train.retimed})")
        check(cache_entries(cache)[key]["measured_at"] > time.time() - 3600, f"{label}: the entry is rewritten, dated")
    for label, text in (("not JSON", "{ this is not json"), ("a wrong entry", json.dumps({key: {"engine": "fast"}})),
                        ("wrong types", json.dumps({key: {"engine": "gemm", "seconds": {"gemm": "1", "fused": []}}})),
                        ("an engine missing", json.dumps({key: {"engine": "gemm", "seconds": {"gemm": 1e-3}}})),
                        ("the old format", json.dumps({key: {"engine": "gemm", "gemm_s": 1e-3, "fused_s": 2e-3}}))):
        with open(cache, "w") as f:
            f.write(text)
        _, how3, _, path3, why3 = train(amk, "malformed")
        check(how3 == "timed" and path3 == cache and why3 is None, f"{label}: measured again")
        check(cache_entries(cache)[key]["engine"] in ENGINES, f"{label}: the file is valid again")
    blocker = os.path.join(work, "a_file")
    open(blocker, "w").close()  # XDG_CACHE_HOME is a file: amk/ cannot be created in it
    env = dict(os.environ, XDG_CACHE_HOME=blocker)
    _, how4, _, path4, why4 = train(amk, "unwritable", env=env)
    check(how4 == "timed" and why4 is not None and "cannot create" in why4, f"unwritable: not kept ({why4})")
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    _, how5, _, path5, why5 = train(amk, "nohome", env=env)
    check(how5 == "timed" and path5 is None and "neither XDG_CACHE_HOME nor HOME" in (why5 or ""),
          f"no HOME: timed, not kept ({why5})")


@test
def bench_under_mpirun(amk, work, *mpiexec):
    """`mpirun -np 2 amk bench`: one JSON line (rank 0's) with the global figures: the global
    batch, 2 ranks, samples/s = batch / median step; both ranks chose the engine by the
    same summed times; each rank's BLAS has its share of the node's threads; a 2-rank
    `amk train` with auto learns the path."""
    os.environ["XDG_CACHE_HOME"] = os.path.join(work, "cache")
    out = run(*mpiexec, "-np", 2, amk, "bench", "--width", 32, "--batch", 512, "--steps", 5, "--warmup", 1)
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    check(len(lines) == 1, f"one JSON line, not one per rank: {out}")
    j = lines[0]
    print(j)
    check(j["ranks"] == 2 and j["batch"] == 512, "2 ranks, the global batch")
    check(abs(j["samples_per_s"] * j["median_step_s"] / 512 - 1) < 1e-9, "samples/s of the global batch")
    t = j["engine_times_s"]
    check(t and all(t[e] > 0 for e in ENGINES) and j["engine"] == min(ENGINES, key=lambda e: t[e]),
          "auto timed every engine and chose the fastest of the summed times")
    # the BLAS threads: a rank's share of the node's (unless the user set them). mpirun's
    # default binding to cores already gives OpenBLAS one core per rank; unbound (Open MPI's
    # --bind-to none) amk divides the threads itself.
    one = json.loads(run(amk, "bench", "--width", 32, "--batch", 512, "--steps", 2).splitlines()[-1])["blas_threads"]
    share = max(1, one // 2)
    if one > 0:  # OpenBLAS (other BLAS libraries do not say)
        check(1 <= j["blas_threads"] <= share, f"2 ranks: {j['blas_threads']} BLAS threads each, {one} in one process")
    version = subprocess.run([mpiexec[0], "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if one > 1 and "Open MPI" in version.stdout:
        unbound = [*mpiexec, "--bind-to", "none", "-np", 2, amk, "bench", "--width", 32, "--batch", 512, "--steps", 2]
        got = json.loads(run(*unbound).splitlines()[-1])["blas_threads"]
        check(got == share, f"unbound ranks: {got} BLAS threads each, {share} expected")
        os.environ["OPENBLAS_NUM_THREADS"] = str(one)
        got = json.loads(run(*unbound[:1], "-x", "OPENBLAS_NUM_THREADS", *unbound[1:]).splitlines()[-1])["blas_threads"]
        del os.environ["OPENBLAS_NUM_THREADS"]
        check(got == one, f"OPENBLAS_NUM_THREADS={one} is kept ({got})")
    data(amk)
    log = run(*mpiexec, "-np", 2, amk, "train", "--data", "data.h5", "--out", "np2", *OPTIONS, log="np2.log", full=True)
    check(START.search(log.splitlines()[0]) is not None, "the 2-rank start line reports auto's times")
    err = velocity_error(amk, "np2/checkpoint.h5", PATH, TIMES, work)
    print(f"2 ranks: relative L2 velocity error {err:.4f}")
    within(err, 0.1, 0.2, "2 ranks: velocity error")  # 300 steps: 0.11


if __name__ == "__main__":
    sys.exit(run_test(TESTS))
