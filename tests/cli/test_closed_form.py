#!/usr/bin/python3
"""`amk` end to end against closed forms, run the way a user runs it: physical units (time
spans other than [0, 1], data far from the origin), default options unless a test is about
an option. Each test is one ctest entry:
    test_closed_form.py AMK WORKDIR TEST
"""
import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

from closed_form import GaussianPath, field, moments, run, velocity_error

TESTS = {}


def test(fn):
    TESTS[fn.__name__] = fn
    return fn


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        raise AssertionError(what)


# The physical-units Gaussian path of the defaults tests: d = 3, T in [3, 5], centred at 50.
T0, T1, OFFSET, DIM = 3.0, 5.0, 50.0, 3
PATH = GaussianPath(DIM, T0, T1, OFFSET)
TIMES = [T0 + (T1 - T0) * f for f in (0.1, 0.3, 0.5, 0.7, 0.9)]


def gaussian_data(amk, work, snapshots=41, samples=2000, offset=OFFSET):
    data = os.path.join(work, f"gauss{snapshots}_{offset:g}.h5")
    if not os.path.exists(data):
        run(amk, "datagen", "gaussian", "--dim", DIM, "--snapshots", snapshots, "--samples", samples, "--t0", T0,
            "--t1", T1, "--offset", offset, "--out", data)
    return data


def transported(amk, checkpoint, data, work, *extra):
    """Samples of the first snapshot moved to T1 by `amk sample` (its default integrator)."""
    out = os.path.join(work, "moved.h5")
    run(amk, "sample", "--checkpoint", checkpoint, "--data", data, "--from-snapshot", 0, "--to-time", T1,
        "--n", 2000, "--out", out, *extra)
    with h5py.File(out, "r") as f:
        return f["x"][-1]


def check_transport(x, path, label, mean_tol=0.1, var_tol=0.15):
    """Mean and covariance of x against q at path.t1: sampling error of the mean is
    sigma/sqrt(2000) <= 0.034 and of a variance about 3 %; the bounds add the model error."""
    mean, cov = moments(x)
    exact_mean, exact_var = path.mean(path.t1), path.std(path.t1) ** 2
    print(f"[{label}] mean {np.round(mean, 3)} (exact {exact_mean}), variances {np.round(np.diag(cov), 3)} "
          f"(exact {exact_var})")
    check(np.abs(mean - exact_mean).max() < mean_tol, f"{label}: transported mean within {mean_tol}")
    check(np.abs(np.diag(cov) / exact_var - 1).max() < var_tol, f"{label}: transported variances within {var_tol:.0%}")
    off = cov - np.diag(np.diag(cov))
    check(np.abs(off).max() < 0.1, f"{label}: the axes stay uncorrelated")


@test
def gaussian_defaults(amk, work):
    """The defaults give the right dynamics: velocity and transport in physical units, with
    the EMA weights (the default) and with --weights raw."""
    data = gaussian_data(amk, work)
    run(amk, "train", "--data", data, "--out", "run", "--steps", 3000, "--batch", 256, "--width", 64,
        log="train.log")
    ckpt = "run/checkpoint.h5"
    errors = {}
    for weights in ("ema", "raw"):
        errors[weights] = velocity_error(amk, ckpt, PATH, TIMES, work, extra=("--weights", weights))
        print(f"[{weights}] relative L2 velocity error {errors[weights]:.4f}")
        check(errors[weights] < 0.10, f"{weights} weights: velocity error {errors[weights]:.4f} < 0.10")
        check_transport(transported(amk, ckpt, data, work, "--weights", weights), PATH, weights)
    check(errors["ema"] != errors["raw"], "--weights raw evaluates other weights than the EMA")


@test
def no_normalise(amk, work):
    """--no-normalise on data already of unit scale (centred at 0, T in [3, 5]): the
    checkpoint keeps shift 0 and scale 1, and the dynamics are still right."""
    data = gaussian_data(amk, work, offset=0.0)
    path = GaussianPath(DIM, T0, T1, 0.0)
    run(amk, "train", "--data", data, "--out", "run", "--steps", 3000, "--batch", 256, "--width", 64,
        "--no-normalise", log="train.log")
    with h5py.File("run/checkpoint.h5", "r") as f:
        check(f.attrs["scale"] == 1.0 and not f["shift"][:].any(), "no normalisation stored (scale 1, shift 0)")
    err = velocity_error(amk, "run/checkpoint.h5", path, TIMES, work)
    print(f"relative L2 velocity error {err:.4f}")
    check(err < 0.10, f"velocity error {err:.4f} < 0.10")
    check_transport(transported(amk, "run/checkpoint.h5", data, work), path, "no-normalise")


@test
def head_quadratic(amk, work):
    """--head quadratic (s = |x - net(x, t)|^2/2, the reference code's form) learns the path."""
    data = gaussian_data(amk, work)
    run(amk, "train", "--data", data, "--out", "run", "--steps", 3000, "--batch", 256, "--width", 64,
        "--head", "quadratic", log="train.log")
    err = velocity_error(amk, "run/checkpoint.h5", PATH, TIMES, work)
    print(f"relative L2 velocity error {err:.4f}")
    check(err < 0.10, f"velocity error {err:.4f} < 0.10")
    check_transport(transported(amk, "run/checkpoint.h5", data, work), PATH, "quadratic head")


@test
def progress_reaches_a_pipe(amk, work):
    """Progress lines reach a pipe as they are printed (not at exit), with samples/s and an ETA."""
    data = gaussian_data(amk, work, snapshots=5, samples=500)
    cmd = [amk, "train", "--data", data, "--out", "run", "--steps", 100000, "--batch", 64, "--width", 16,
           "--depth", 1, "--log-every", 5000]  # 20 lines: fit in a pipe buffer unless flushed
    p = subprocess.Popen([str(c) for c in cmd],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        start = time.time()
        line = ""
        while not line.startswith("step ") and time.time() - start < 60:
            line = p.stdout.readline()
        running = p.poll() is None
    finally:
        p.kill()
        p.wait()
    print("first progress line:", line.strip())
    check(line.startswith("step 5000/100000"), "the first progress line arrives through the pipe")
    check(running, "... while the run is still going")
    check("samples/s" in line and "ETA" in line, "the line reports samples/s and an ETA")


def main():
    amk, work, name = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    work = os.path.abspath(os.path.join(work, name))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    try:
        TESTS[name](amk, work)
    except (AssertionError, RuntimeError) as e:
        print(f"FAILED: {name}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
