"""Closed forms of amk's built-in paths and the checks the CLI tests run against them.

Every helper works in the data's own (physical) units, as a user of `amk` would:
it writes points, runs `amk field` or `amk sample`, and compares with the exact answer.
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

# The sanitizer stage of run-tests.sh (AMK_TEST_QUICK=1) runs every test's amk commands with a
# twentieth of the training steps, under AddressSanitizer and UBSan, whose reports it collects from
# every process. Every check is asserted in that stage too: check() holds whatever the length
# (exit codes, messages, bitwise equalities, files intact, timings of failures), and within() /
# beyond() assert an accuracy against the full-length bound, or in the shortened stage against
# the bound calibrated for a twentieth of the steps (measured, with the margin written beside it).
QUICK = os.environ.get("AMK_TEST_QUICK") == "1"
# Samples per snapshot of the tests' larger data sets: a quarter in the shortened stage, where the
# start-up coupling of 41 snapshots of 4000 would take 21 s a run under AddressSanitizer (the
# training of 150 steps, 1 s)
SNAPSHOT_SAMPLES = 1000 if QUICK else 4000


def sanitized(amk):
    """True when amk is an AddressSanitizer build (it cannot start under ulimit -v or -d: its
    shadow memory alone maps terabytes)."""
    out = subprocess.run(["ldd", str(amk)], stdout=subprocess.PIPE, text=True).stdout
    return "libasan" in out


def rank_killing_env():
    """The environment of a job in which a test kills one rank: its peers may then crash inside
    Open MPI (a send to the dead rank); mpirun ends them, and AddressSanitizer is told not to
    report those crashes as the program's."""
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":handle_segv=0:handle_sigbus=0:handle_abort=0"
    return env


def quick_steps(cmd, full=False):
    """cmd with every `--steps N` (N >= 400) cut to N/20 in the sanitizer stage (not a
    --resume, which must go past its checkpoint's step, nor a run that must stay `full`)."""
    cmd = [str(c) for c in cmd]
    if QUICK and not full and "--resume" not in cmd:
        for i in range(len(cmd) - 1):
            if cmd[i] == "--steps" and cmd[i + 1].isdigit() and int(cmd[i + 1]) >= 400:
                cmd[i + 1] = str(int(cmd[i + 1]) // 20)
    return cmd


class GaussianPath:
    """amk datagen gaussian: q_T = N(mu_t, diag sigma_t^2) with t = (T - t0)/(t1 - t0),
    mu_t = (1-t) mu0 + t mu1, sigma_t = (1-t) sigma0 + t sigma1; mu0 = c, mu1 = c + (2,-1,..),
    sigma0 = 1, sigma1 = (0.5, 1.5, ...). Velocity dx/dT = (mu1-mu0 + (s1-s0)/s_t (x-mu_t))/(t1-t0)."""

    def __init__(self, dim, t0=0.0, t1=1.0, offset=0.0):
        self.dim, self.t0, self.t1 = dim, t0, t1
        r = np.arange(dim)
        self.mu0 = np.full(dim, offset)
        self.mu1 = offset + np.where(r % 2 == 0, 2.0, -1.0)
        self.s0 = np.ones(dim)
        self.s1 = np.where(r % 2 == 0, 0.5, 1.5)

    def tau(self, T):
        return (np.asarray(T) - self.t0) / (self.t1 - self.t0)

    def mean(self, T):
        t = self.tau(T)
        return (1 - t) * self.mu0 + t * self.mu1

    def std(self, T):
        t = self.tau(T)
        return (1 - t) * self.s0 + t * self.s1

    def sample(self, T, n, rng):
        return self.mean(T) + self.std(T) * rng.standard_normal((n, self.dim))

    def velocity(self, x, T):
        t = self.tau(T)[:, None]
        mu = (1 - t) * self.mu0 + t * self.mu1
        sd = (1 - t) * self.s0 + t * self.s1
        return ((self.mu1 - self.mu0) + (self.s1 - self.s0) / sd * (x - mu)) / (self.t1 - self.t0)


# The physical-units Gaussian path of the defaults tests: d = 3, T in [3, 5], centred at 50.
T0, T1, OFFSET, DIM = 3.0, 5.0, 50.0, 3
PATH = GaussianPath(DIM, T0, T1, OFFSET)
TIMES = [T0 + (T1 - T0) * f for f in (0.1, 0.3, 0.5, 0.7, 0.9)]


def check(cond, what):
    """A check that holds whatever the training's length: asserted in every stage."""
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        raise AssertionError(what)


def within(value, bound, quick, what):
    """An accuracy that a shorter training reaches less well: value < bound at full length, value
    < quick in the shortened sanitizer stage."""
    limit = quick if QUICK else bound
    check(value < limit, f"{what}: {value:.4g} < {limit:g}" + (" (shortened run)" if QUICK else ""))


def beyond(value, bound, quick, what):
    """value > bound at full length, value > quick in the shortened sanitizer stage."""
    limit = quick if QUICK else bound
    check(value > limit, f"{what}: {value:.4g} > {limit:g}" + (" (shortened run)" if QUICK else ""))


def registry():
    """A test file's tests by name: `TESTS, test = registry()`, then `@test` on each function;
    run_test(TESTS) runs the one ctest names."""
    tests = {}

    def test(fn):
        tests[fn.__name__] = fn
        return fn

    return tests, test


def run_test(tests):
    """The ctest entry point of a test file: FILE AMK WORKDIR TEST [EXTRA...]; runs
    tests[TEST](amk, work, *EXTRA) in a fresh WORKDIR/TEST."""
    amk, work, name, extra = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    work = os.path.abspath(os.path.join(work, name))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    try:
        tests[name](amk, work, *extra)
    except (AssertionError, RuntimeError) as e:
        print(f"FAILED: {name}: {e}")
        return 1
    return 0


def run(*cmd, log=None, full=False):
    """Runs an amk command (shortened in the sanitizer stage unless `full`); raises with its
    output when it fails."""
    p = subprocess.run(quick_steps(cmd, full), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if log:
        with open(log, "w") as f:
            f.write(p.stdout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout}")
    return p.stdout


def field(amk, checkpoint, x, T, work, *extra):
    """amk field at points x [n, d] and times T [n]: returns (s, grad_x, ds_dt)."""
    pts, out = os.path.join(work, "points.h5"), os.path.join(work, "field.h5")
    with h5py.File(pts, "w") as f:
        f["x"] = x
        f["t"] = T
    run(amk, "field", "--checkpoint", checkpoint, "--points", pts, "--out", out, *extra)
    with h5py.File(out, "r") as f:
        return f["s"][:], f["grad_x"][:], f["ds_dt"][:]


def velocity_error(amk, checkpoint, path, times, work, n=2000, seed=7, extra=()):
    """Relative L2 error of the learned velocity against path.velocity on fresh samples of
    q_T at each physical time T in times."""
    rng = np.random.default_rng(seed)
    xs = np.concatenate([path.sample(T, n, rng) for T in times])
    Ts = np.repeat(np.asarray(times, dtype=float), n)
    _, v, _ = field(amk, checkpoint, xs, Ts, work, *extra)
    exact = path.velocity(xs, Ts)
    return float(np.sqrt(((v - exact) ** 2).sum() / (exact ** 2).sum()))


def moments(x):
    """Mean and covariance of samples x [n, d]."""
    return x.mean(0), np.cov(x.T)


class OrnsteinUhlenbeck:
    """amk datagen ou: dX = -theta (X - c) dT + sigma dW from N(m0, s0^2 I) at t0."""

    def __init__(self, dim, t0, t1, theta, sigma, center, mean0, std0):
        self.dim, self.t0, self.t1 = dim, t0, t1
        self.theta, self.sigma, self.center, self.mean0, self.std0 = theta, sigma, center, mean0, std0

    def mean(self, T):
        return self.center + (self.mean0 - self.center) * np.exp(-self.theta * (np.asarray(T) - self.t0))

    def var(self, T):
        e = np.exp(-2 * self.theta * (np.asarray(T) - self.t0))
        return self.std0 ** 2 * e + self.sigma ** 2 * (1 - e) / (2 * self.theta)

    def sample(self, T, n, rng):
        return self.mean(T) + np.sqrt(self.var(T)) * rng.standard_normal((n, self.dim))

    def drift(self, x, T):
        return -self.theta * (x - self.center)

    def probability_flow(self, x, T):
        T = np.asarray(T)[:, None]
        return self.drift(x, T) + 0.5 * self.sigma ** 2 * (x - self.mean(T)) / self.var(T)


class HarmonicPacket:
    """amk datagen harmonic: a Gaussian packet in V = omega^2 |x - c|^2 / 2 (hbar = m = 1) from
    x0 = c + (a, -a, ...), momentum p: q_T = N(x_c, s_T^2 I) with tau = T - t0,
    x_c = c + (x0 - c) cos(omega tau) + (p / omega) sin(omega tau),
    s_T^2 = s0^2 cos^2 + sin^2 / (4 s0^2 omega^2); Bohmian velocity x_c' + (s_T'/s_T)(x - x_c)."""

    def __init__(self, dim, t0, t1, omega, center, amplitude, momentum, sigma0):
        self.dim, self.t0, self.t1, self.omega = dim, t0, t1, omega
        self.c, self.p, self.s0 = center, momentum, sigma0
        self.x0 = center + np.where(np.arange(dim) % 2 == 0, amplitude, -amplitude)

    def mean(self, T):
        w = self.omega * (np.asarray(T, dtype=float) - self.t0)
        return self.c + (self.x0 - self.c) * np.cos(w)[..., None] + (self.p / self.omega) * np.sin(w)[..., None]

    def var(self, T):
        w = self.omega * (np.asarray(T, dtype=float) - self.t0)
        return self.s0 ** 2 * np.cos(w) ** 2 + np.sin(w) ** 2 / (4 * self.s0 ** 2 * self.omega ** 2)

    def velocity(self, x, T):
        w = self.omega * (np.asarray(T, dtype=float) - self.t0)
        c, s = np.cos(w)[:, None], np.sin(w)[:, None]
        vc = -self.omega * (self.x0 - self.c) * s + self.p * c
        dvar = 2 * self.omega * c * s * (1 / (4 * self.s0 ** 2 * self.omega ** 2) - self.s0 ** 2)
        return vc + dvar / (2 * self.var(T)[:, None]) * (x - self.mean(T))


def field_error(amk, checkpoint, sample, exact, times, work, n=2000, seed=7, extra=()):
    """Relative L2 error of the learned velocity against exact(x, T) on sample(T, n, rng)."""
    rng = np.random.default_rng(seed)
    xs = np.concatenate([sample(T, n, rng) for T in times])
    Ts = np.repeat(np.asarray(times, dtype=float), n)
    _, v, _ = field(amk, checkpoint, xs, Ts, work, *extra)
    ref = exact(xs, Ts)
    return float(np.sqrt(((v - ref) ** 2).sum() / (ref ** 2).sum()))
