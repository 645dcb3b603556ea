#!/usr/bin/python3
"""Every option of `amk train`, `amk bench` and the inference commands checked with a number,
the way a user runs them: through `amk`, in physical units (the defaults path of closed_form:
d = 3, T in [3, 5], centred at 50), default options besides the one under test. The
optimiser's options are checked exactly from the Adam moments and weights a checkpoint stores
(one or two steps apart); the options that change what is learned against the closed form.
Each test is one ctest entry:
    test_options.py AMK WORKDIR TEST [KOKKOS_VERSION DEFAULT_SPACE MPIEXEC FLAGS...]
"""
import json
import os
import re
import subprocess
import sys

import h5py
import numpy as np

from closed_form import (DIM, OFFSET, PATH, QUICK, SNAPSHOT_SAMPLES, T0, T1, TIMES, beyond, check, field, registry, run, run_test,
                         velocity_error, within)

TESTS, test = registry()

# shortened (the sanitizer stage): velocity errors 0.11-0.18 after 150 steps (untrained: 0.9-1)

# a short run on the defaults path: the optimiser's options act from its first step
SHORT = ["--width", 16, "--depth", 2, "--batch", 64, "--log-every", 1, "--engine", "gemm"]
# the closed-form runs: as test_closed_form's gaussian_defaults
TRAIN = ["--steps", 3000, "--batch", 256, "--width", 64]


def data(amk, snapshots=41):
    path = f"data{snapshots}.h5"
    if not os.path.exists(path):
        run(amk, "datagen", "gaussian", "--dim", DIM, "--snapshots", snapshots, "--samples", SNAPSHOT_SAMPLES, "--t0", T0,
            "--t1", T1, "--offset", OFFSET, "--out", path)
    return path


def arrays(out):
    with h5py.File(os.path.join(out, "checkpoint.h5"), "r") as f:
        return {k: f[k][:] for k in ("params", "ema", "adam_m", "adam_v")}, json.loads(f.attrs["config"])


def short(amk, out, steps, *extra):
    run(amk, "train", "--data", data(amk, 11), "--out", out, "--steps", steps, *SHORT, *extra, log=out + ".log")
    return arrays(out)


def learned(amk, out, *extra):
    """Trains the defaults path (11 snapshots: the coupled path learns it as from 41, and its
    coupling costs a quarter) with `extra`; returns the velocity error against the closed form."""
    run(amk, "train", "--data", data(amk, 11), "--out", out, *TRAIN, *extra, log=out + ".log")
    err = velocity_error(amk, f"{out}/checkpoint.h5", PATH, TIMES, os.getcwd())
    print(f"[{' '.join(map(str, extra)) or 'defaults'}] relative L2 velocity error {err:.4f}")
    return err


def relative(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@test
def clip_bounds_the_adam_moments(amk, work, *_):
    """--clip C rescales every step's gradient to norm C when it is larger (here all 20 steps:
    the raw norm is logged, >= 0.1): the second moment v = sum_t (1 - b2) b2^(N-t) g_t^2 then sums
    to exactly C^2 (1 - b2^N) over the parameters; --clip 0 turns clipping off (its v holds the
    raw norms)."""
    N, C, b2 = 20, 0.01, 0.999
    a, _ = short(amk, "clipped", N, "--clip", C)
    with open("clipped/metrics.jsonl") as f:
        norms = [json.loads(x)["grad_norm"] for x in f]
    check(min(norms) > C, f"every raw gradient norm is above the clip (smallest {min(norms):.3g})")
    norm_v = float(np.sqrt(a["adam_v"].astype(np.float64).sum() / (1 - b2 ** N)))
    print(f"--clip {C}: sqrt(sum v / (1 - b2^N)) = {norm_v:.7g}")
    check(abs(norm_v / C - 1) < 1e-4, f"the clipped gradients have norm {C} ({norm_v:.7g})")  # float32 v: ~1e-6
    off, _ = short(amk, "unclipped", N, "--clip", 0)
    unclipped = float(np.sqrt(off["adam_v"].astype(np.float64).sum() / (1 - b2 ** N)))
    check(unclipped > 10 * C, f"--clip 0: the moments hold the raw gradients (rms norm {unclipped:.3g})")


@test
def ema_follows_its_recursion(amk, work, *_):
    """--ema 0 keeps the last weights (the EMA equals them bitwise); --ema 0.9 follows
    e_N = d e_(N-1) + (1 - d) theta_N with d = min(0.9, (1 + N)/(10 + N)): a run of N - 1 and one of N
    steps (the same run: bitwise the same first N - 1 steps) give both sides."""
    a, _ = short(amk, "ema0", 30, "--ema", 0)
    check(np.array_equal(a["ema"], a["params"]), "--ema 0: the EMA weights are the last weights, bitwise")
    N, e = 30, 0.9
    before, _ = short(amk, "ema_before", N - 1, "--ema", e)
    after, config = short(amk, "ema_after", N, "--ema", e)
    check(config["ema"] == e, "the checkpoint stores --ema")
    d = min(e, (1 + N) / (10 + N))
    expect = d * before["ema"].astype(np.float64) + (1 - d) * after["params"]
    err = relative(after["ema"], expect)
    print(f"--ema {e}: relative distance of the EMA from its recursion {err:.3g}")
    check(err < 1e-6, f"--ema {e}: e_N = d e_(N-1) + (1 - d) theta_N to float rounding ({err:.3g})")
    check(relative(after["ema"], after["params"]) > 1e-3, "and differs from the last weights")


@test
def adam_betas_are_the_moments_decays(amk, work, *_):
    """--beta1 0 --beta2 0: m is the last (clipped) gradient and v its square, elementwise;
    --beta1 0.5 --beta2 0: m_N = 0.5 m_(N-1) + 0.5 g_N with v_N = g_N^2, from two runs a step apart."""
    a, config = short(amk, "betas0", 25, "--beta1", 0, "--beta2", 0)
    check((config["beta1"], config["beta2"]) == (0, 0), "the checkpoint stores the betas")
    m, v = a["adam_m"].astype(np.float64), a["adam_v"].astype(np.float64)
    err = relative(v, m * m)
    print(f"--beta1 0 --beta2 0: |v - m^2| / |m^2| = {err:.3g}")
    check(err < 1e-6, f"v = m^2 elementwise ({err:.3g})")
    N = 25
    before, _ = short(amk, "half_before", N - 1, "--beta1", 0.5, "--beta2", 0)
    after, _ = short(amk, "half_after", N, "--beta1", 0.5, "--beta2", 0)
    g = (after["adam_m"].astype(np.float64) - 0.5 * before["adam_m"]) / 0.5
    err = relative(after["adam_v"], g * g)
    print(f"--beta1 0.5 --beta2 0: |v_N - g_N^2| / |g_N^2| with g_N = (m_N - 0.5 m_(N-1)) / 0.5: {err:.3g}")
    check(err < 1e-4, f"m_N = 0.5 m_(N-1) + 0.5 g_N with v_N = g_N^2 ({err:.3g})")
    default, _ = short(amk, "betas_default", N)
    check(relative(default["adam_v"], default["adam_m"] ** 2) > 0.1, "the defaults (0.9, 0.999) average over steps")


@test
def adam_eps_damps_the_step(amk, work, *_):
    """--adam-eps 1e6 makes every step lr m/(sqrt v + 1e6) ~ 1e-9 lr: after 50 steps the weights
    are the initial ones (a run of one step at --lr 1e-30 gives them) to float rounding, where
    the default epsilon has moved them."""
    init, _ = short(amk, "initial", 1, "--lr", 1e-30)
    damped, config = short(amk, "damped", 50, "--adam-eps", 1e6)
    check(config["adam_eps"] == 1e6, "the checkpoint stores --adam-eps")
    moved, _ = short(amk, "moved", 50)
    d_damped, d_moved = relative(damped["params"], init["params"]), relative(moved["params"], init["params"])
    print(f"relative change of the weights after 50 steps: --adam-eps 1e6 {d_damped:.3g}, default {d_moved:.3g}")
    check(d_damped < 1e-6, f"--adam-eps 1e6: the weights barely move ({d_damped:.3g})")
    check(d_moved > 1e-2, f"the default epsilon moves them ({d_moved:.3g})")


@test
def seed_draws_another_run(amk, work, *_):
    """--seed gives another initialisation and other batches (other weights), the same seed
    the same weights bitwise; both learn the path."""
    a, _ = short(amk, "seed0", 20)
    b, _ = short(amk, "seed0_again", 20)
    c, config = short(amk, "seed1", 20, "--seed", 1)
    check(config["seed"] == 1, "the checkpoint stores --seed")
    check(all(np.array_equal(a[k], b[k]) for k in a), "the same seed: bitwise the same run")
    check(relative(c["params"], a["params"]) > 0.1, f"--seed 1: other weights ({relative(c['params'], a['params']):.3g})")
    err = learned(amk, "seeded", "--seed", 1)
    within(err, 0.08, 0.25, "--seed 1: velocity error")


@test
def time_sampling_options_learn_the_path(amk, work, *_):
    """--time-sampling stratified and uniform draw other interior times (other weights) and
    learn the path as the default low-discrepancy sequence does (measured 0.046)."""
    errors = {}
    for sampling in ("stratified", "uniform"):
        errors[sampling] = learned(amk, sampling, "--time-sampling", sampling)
        within(errors[sampling], 0.08, 0.25, f"--time-sampling {sampling}: velocity error")
    a, _ = arrays("stratified")
    b, _ = arrays("uniform")
    check(relative(a["params"], b["params"]) > 1e-2, "the two samplings train other weights")


@test
def boundary_batch_sets_the_boundary_samples(amk, work, *_):
    """--boundary-batch B0 draws B0 samples of q0 and of q1 a step: at fixed weights (--lr 1e-30)
    the logged boundary term E_q0 s - E_q1 s fluctuates from step to step as 1/sqrt(B0), so 32 samples
    fluctuate sqrt(2048/32) = 8 times as much as 2048; a large boundary batch learns the path."""
    spread = {}
    for b0 in (32, 2048):
        run(amk, "train", "--data", data(amk, 11), "--out", f"b{b0}", "--steps", 200, *SHORT, "--lr", 1e-30,
            "--boundary-batch", b0, log=f"b{b0}.log", full=True)
        with open(f"b{b0}/metrics.jsonl") as f:
            spread[b0] = float(np.std([json.loads(x)["boundary"] for x in f]))
    ratio = spread[32] / spread[2048]
    print(f"boundary term's spread over 200 steps: B0 = 32 {spread[32]:.4g}, B0 = 2048 {spread[2048]:.4g}, ratio {ratio:.2f}")
    check(5 < ratio < 12, f"the spread scales as 1/sqrt(B0): ratio {ratio:.2f} (8 expected; 200 steps: +-15 %)")
    err = learned(amk, "large_boundary", "--boundary-batch", 2048)
    within(err, 0.08, 0.25, "--boundary-batch 2048: velocity error")


@test
def activations_learn_the_path(amk, work, *_):
    """--activation tanh, softplus and gelu learn the path to the same bar as SiLU (0.046)."""
    for activation in ("tanh", "softplus", "gelu"):
        err = learned(amk, activation, "--activation", activation)
        _, config = arrays(activation)
        check(config["network"]["activation"] == activation, f"the checkpoint stores --activation {activation}")
        within(err, 0.08, 0.25, f"--activation {activation}: velocity error")


@test
def double_precision_matches_float_and_is_more_exact(amk, work, *_):
    """--dtype double learns the path as float does (the same bar, within the runs' noise) and
    evaluates it more exactly: the learned gradient against central differences of the learned s
    (amk field at x +- h e_r, h = 1e-3) agrees to the differences' truncation (~1e-7) in double and
    only to float rounding (~1e-3) in float."""
    errors = {}
    for dtype in ("float", "double"):
        errors[dtype] = learned(amk, dtype, "--dtype", dtype)
        within(errors[dtype], 0.08, 0.25, f"--dtype {dtype}: velocity error")
    within(abs(errors["double"] - errors["float"]), 0.02, 0.02, "double and float learn alike: their errors differ by")
    rng = np.random.default_rng(3)
    x = PATH.sample(4.0, 50, rng)
    T = np.full(50, 4.0)
    h = 1e-3
    mismatch = {}
    for dtype in ("float", "double"):
        _, g, _ = field(amk, f"{dtype}/checkpoint.h5", x, T, work)
        fd = np.zeros_like(g)
        for r in range(DIM):
            e = np.zeros(DIM)
            e[r] = h
            sp, _, _ = field(amk, f"{dtype}/checkpoint.h5", x + e, T, work)
            sm, _, _ = field(amk, f"{dtype}/checkpoint.h5", x - e, T, work)
            fd[:, r] = (sp - sm) / (2 * h)
        mismatch[dtype] = relative(fd, g)
    print(f"central differences of s against grad s: float {mismatch['float']:.3g}, double {mismatch['double']:.3g}")
    check(mismatch["double"] < 1e-5, f"double: s and its gradient agree to {mismatch['double']:.3g}")
    check(mismatch["float"] > 30 * mismatch["double"], "float: only to its rounding")


@test
def bench_reports_what_it_ran(amk, work, *_):
    """amk bench --dtype, --activation and --draw: the first step's loss (at the initial weights,
    on the first batch) is the same in float and double to float rounding and another with tanh;
    --draw once trains on one batch, whose loss falls, and reports another last loss than --draw
    each; the FLOPs per step are 2 (sum of n_l n_(l-1)) (6 B + 3 2 B0) (DESIGN.md)."""
    bench = ["bench", "--dim", 2, "--width", 32, "--depth", 2, "--batch", 256, "--steps", 5, "--warmup", 0]
    r = {}
    for name, extra in (("float", ()), ("double", ("--dtype", "double")), ("tanh", ("--activation", "tanh")),
                        ("once", ("--draw", "once"))):
        r[name] = json.loads(run(amk, *bench, *extra).strip().splitlines()[-1])
    f, d = r["float"]["first_loss"], r["double"]["first_loss"]
    print({k: (v["first_loss"], v["last_loss"]) for k, v in r.items()})
    check((r["double"]["dtype"], r["tanh"]["activation"], r["once"]["draw"]) == ("double", "tanh", "once"),
          "the JSON names the run's dtype, activation and draw")
    check(abs(f - d) < 1e-5 * (1 + abs(d)), f"float and double: the same first loss to float rounding ({f} vs {d})")
    check(abs(r["tanh"]["first_loss"] - f) > 1e-3 * (1 + abs(f)), "tanh: another network, another first loss")
    check(r["once"]["last_loss"] < r["once"]["first_loss"], "--draw once: the one batch's loss falls")
    check(r["once"]["last_loss"] != r["float"]["last_loss"], "--draw each trains on other batches")
    macs = 3 * 32 + 32 * 32 + 32 * 1  # input [x1, x2, t] -> 32 -> 32 -> 1
    check(r["float"]["flops_per_step"] == 2 * macs * (6 * 256 + 3 * 2 * 256), "the FLOP model's count")


@test
def info_names_the_back_end(amk, work, kokkos_version="", default_space="", *mpiexec):
    """amk info: the version, the Kokkos version and default execution space the build has
    (from CMake), the MPI rank count (under mpirun too) and the HDF5 version h5py reads."""
    out = run(amk, "info")
    print(out.splitlines()[:4])
    version = subprocess.run([amk, "--version"], stdout=subprocess.PIPE, text=True).stdout.split()[-1]
    check(out.startswith(f"amk {version}\n"), f"the version ({version})")
    kokkos = ".".join(str(int(p)) for p in kokkos_version.split("."))  # CMake's 3.4.01 is Kokkos' 3.4.1
    check(f"kokkos {kokkos}: default execution space {default_space} (concurrency " in out,
          f"Kokkos {kokkos}, default execution space {default_space}")
    check(re.search(r"^mpi: (1 ranks; |disabled at build time)", out, re.M) is not None, "one MPI rank")
    hdf5 = re.search(r"^hdf5: ([0-9.]+) \((parallel|serial)\)", out, re.M)
    check(hdf5 is not None and hdf5.group(1).split(".")[:2] == h5py.version.hdf5_version.split(".")[:2],
          f"HDF5 {hdf5.group(1) if hdf5 else '?'}, h5py's {h5py.version.hdf5_version}")
    if mpiexec:
        two = run(*mpiexec, "-np", 2, amk, "info")
        check(two.count("amk ") == 1 and re.search(r"^mpi: 2 ranks; ", two, re.M) is not None,
              "under mpirun -np 2: one report, 2 ranks")


@test
def threads_fit_the_cores(amk, work, kokkos_version="", default_space="", *mpiexec):
    """One thread pool: an OpenMP build's BLAS threads on the same OpenMP runtime (install-deps.sh
    --kokkos-openmp gives Kokkos Kernels a run path to Debian's OpenMP OpenBLAS); the pthreads
    OpenBLAS beneath OpenMP threads gets a one-line warning (not when it runs one thread); under
    flat MPI with unbound ranks each rank's Kokkos and BLAS threads are a share of the cores."""
    def info(env=None):
        p = subprocess.run([amk, "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, **(env or {})})
        check(p.returncode == 0, f"amk info exits 0 ({p.returncode}: {p.stderr.strip()})")
        blas = re.search(r"^blas: OpenBLAS, (\d+) threads \((\w+)\)$", p.stdout, re.M)
        check(blas is not None, "amk info names the BLAS's threading")
        return int(blas.group(1)), blas.group(2), p.stderr
    threads, threading, err = info()
    print(f"{default_space}: BLAS {threads} threads ({threading}); stderr {err.strip()!r}")
    check(err == "", "no warning by default")
    check(threading == ("openmp" if default_space == "OpenMP" else "pthreads"),
          f"{default_space} build: the BLAS threads on {threading}")
    pthreads = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
    if default_space == "OpenMP" and os.path.isdir(pthreads) and (os.cpu_count() or 1) > 1:
        _, threading, err = info({"LD_LIBRARY_PATH": pthreads})
        check(threading == "pthreads", "LD_LIBRARY_PATH puts the pthreads OpenBLAS first")
        check(err.count("\n") == 1 and err.startswith("amk: warning: Kokkos runs on OpenMP threads and OpenBLAS on its own pthreads"),
              f"one warning line for the pthreads BLAS ({err.strip()!r})")
        _, _, err = info({"LD_LIBRARY_PATH": pthreads, "OPENBLAS_NUM_THREADS": "1"})
        check(err == "", "no warning when that BLAS runs one thread")
    if mpiexec and default_space == "OpenMP":
        cores = os.cpu_count() or 1
        out = run(*mpiexec, "-np", 2, "--bind-to", "none", amk, "bench", "--width", 16, "--depth", 1, "--batch", 64,
                  "--steps", 1, "--warmup", 0, "--engine", "gemm")
        r = json.loads(out.strip().splitlines()[-1])
        print(f"2 unbound ranks on {cores} cores: Kokkos threads {r['threads']}, BLAS threads {r['blas_threads']}")
        check(r["threads"] == max(1, cores // 2) and r["blas_threads"] == max(1, cores // 2),
              f"each rank a share of the cores ({r['threads']}, {r['blas_threads']})")
        out = run(*mpiexec, "-np", 2, "--bind-to", "none", "-x", "OMP_NUM_THREADS=2", amk, "bench", "--width", 16,
                  "--depth", 1, "--batch", 64, "--steps", 1, "--warmup", 0, "--engine", "gemm")
        check(json.loads(out.strip().splitlines()[-1])["threads"] == 2, "OMP_NUM_THREADS is the user's: kept")


@test
def inference_engine_is_the_trained_one_or_named(amk, work, *_):
    """amk field and sample evaluate with the engine the checkpoint's run trained with (its
    `engine` attribute) unless --engine names one: every engine gives the same velocity to float
    rounding; --engine auto takes the untimed rule; a run trained by the staged engine ends
    where the fused engine's does."""
    run(amk, "train", "--data", data(amk, 11), "--out", "run", "--steps", 50, "--width", 32, "--depth", 2,
        "--batch", 64, "--engine", "fused")
    with h5py.File("run/checkpoint.h5", "r") as f:
        check(f.attrs["engine"].decode() == "fused", "the checkpoint records the engine it trained with")
    x = PATH.sample(4.0, 300, np.random.default_rng(1))
    T = np.full(300, 4.0)
    velocities = {}
    for engine in ("trained", "gemm", "fused", "staged", "auto"):
        extra = () if engine == "trained" else ("--engine", engine)
        _, velocities[engine], _ = field(amk, "run/checkpoint.h5", x, T, work, *extra)
        with h5py.File(os.path.join(work, "field.h5"), "r") as f:
            used = f.attrs["engine"].decode()
        check(used == ("fused" if engine == "trained" else used if engine == "auto" else engine),
              f"--engine {engine}: evaluated by the {used} engine")
    for other in ("fused", "staged"):
        err = relative(velocities["gemm"], velocities[other])
        print(f"gemm against {other} evaluation: relative difference {err:.3g}")
        check(err < 1e-5, f"every engine gives the same velocity to float rounding ({other}: {err:.3g})")
    # the staged engine (the GPU-shaped one, portable tiles here) trains the same network:
    # 50 steps from the same seed end at the fused run's velocity to float rounding
    run(amk, "train", "--data", data(amk, 11), "--out", "staged", "--steps", 50, "--width", 32, "--depth", 2,
        "--batch", 64, "--engine", "staged")
    _, staged, _ = field(amk, "staged/checkpoint.h5", x, T, work)
    err = relative(staged, velocities["fused"])
    print(f"trained staged against trained fused: relative difference {err:.3g}")
    check(err < 1e-4, f"--engine staged trains as fused does ({err:.3g})")
    check(np.array_equal(velocities["trained"], velocities["fused"]), "trained = the fused engine, bitwise")
    out = run(amk, "sample", "--checkpoint", "run/checkpoint.h5", "--data", data(amk, 11), "--to-time", T1,
              "--steps", 4, "--n", 50, "--engine", "gemm", "--out", "moved.h5")
    check("(gemm engine)" in out, "amk sample names the engine it ran")


if __name__ == "__main__":
    sys.exit(run_test(TESTS))
