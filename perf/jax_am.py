"""JAX peer for one Action Matching training step (the official AM code's framework).

  python3 -m venv .venv-jax && .venv-jax/bin/pip install jax numpy
  .venv-jax/bin/python jax_am.py --dim 2 --width 256 --depth 3 --batch 1024 [--steps N] [--dtype float64] [--threads N]
      [--sigma S]

A copy of shared/perf-ref/jax_am.py extended, as torch_am.py is, with entropic AM: --sigma S > 0
adds sigma^2/2 * Laplacian_x s to the interior term, the exact Laplacian as the trace of
jax.jacfwd(jax.grad(s)) (forward-over-reverse: d tangent sweeps of the gradient, batched by XLA).

Same network, loss (plain AM), Adam and timing as torch_am.py; XLA jit-compiles forward, double
backward and Adam as one step. On the same initial weights and batch its loss and parameter
gradients agree with torch_am.py to float32 rounding (checked with jax 0.10.2). --dtype float64
turns on jax_enable_x64 (without it JAX silently computes in float32). --threads N pins the
process to N cores (XLA's thread flags had no effect with jaxlib 0.10.2); 0 (default) = all cores.
On a GPU (jax with CUDA) it runs there; --precision highest (the default here) keeps float32
products in FP32, --precision default lets XLA use TF32 tensor cores, its own GPU default.
"""
import argparse, json, os, sys, time
import numpy as np


def _preparse():  # flags that must be applied before jax is imported
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--dtype", default="float32"); p.add_argument("--threads", type=int, default=0)
    a, _ = p.parse_known_args()
    if a.threads > 0:
        # XLA's own flags (--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1) did not
        # change the CPU time or the step time with jaxlib 0.10.2, so restrict the process's cores instead
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:a.threads])
    return a


_pre = _preparse() if __name__ == "__main__" else None
import jax, jax.numpy as jnp
if _pre is not None and _pre.dtype == "float64":
    jax.config.update("jax_enable_x64", True)


def init(key, d, width, depth, dtype):
    params, fan_in = [], d + 1
    for n_out in [width] * depth + [1]:
        key, k1, k2 = jax.random.split(key, 3)
        bound = 1.0 / np.sqrt(fan_in)  # PyTorch's nn.Linear default
        params.append((jax.random.uniform(k1, (fan_in, n_out), dtype, -bound, bound),
                       jax.random.uniform(k2, (n_out,), dtype, -bound, bound)))
        fan_in = n_out
    return params


def action(params, x, t):  # one sample: x (d,), t scalar -> scalar s
    h = jnp.concatenate([x, jnp.atleast_1d(t)])
    for W, b in params[:-1]:
        h = jax.nn.silu(h @ W + b)
    W, b = params[-1]
    return (h @ W + b)[0]


def laplacian(params, x, t):  # one sample: tr of the x-Hessian, forward over reverse
    return jnp.trace(jax.jacfwd(jax.grad(action, argnums=1), argnums=1)(params, x, t))


def am_loss(params, x0, x1, xt, t, sigma=0.0):
    s = jax.vmap(action, in_axes=(None, 0, 0))
    s0 = s(params, x0, jnp.zeros(x0.shape[0], x0.dtype)).mean()
    s1 = s(params, x1, jnp.ones(x1.shape[0], x1.dtype)).mean()
    gx, gt = jax.vmap(jax.grad(action, argnums=(1, 2)), in_axes=(None, 0, 0))(params, xt, t)
    inner = 0.5 * (gx ** 2).sum(1) + gt
    if sigma > 0:
        inner = inner + 0.5 * sigma ** 2 * jax.vmap(laplacian, in_axes=(None, 0, 0))(params, xt, t)
    return s0 - s1 + inner.mean()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dim", type=int, default=2); p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=3); p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--steps", type=int, default=20); p.add_argument("--dtype", default="float32")
    p.add_argument("--threads", type=int, default=0, help="cores the process may use (sched_setaffinity); 0: all (XLA's default)")
    p.add_argument("--sigma", type=float, default=0.0, help="entropic AM with the exact Laplacian (0: plain AM)")
    p.add_argument("--precision", default="highest", choices=["default", "high", "highest"],
                   help="float32 products on GPUs: highest = FP32, default = TF32 tensor cores (XLA's default there)")
    a = p.parse_args()
    jax.config.update("jax_default_matmul_precision", a.precision)
    dt = jnp.dtype(a.dtype)
    if a.dtype == "float64" and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)
    key = jax.random.PRNGKey(0)
    params = init(key, a.dim, a.width, a.depth, dt)
    m = jax.tree_util.tree_map(jnp.zeros_like, params); v = jax.tree_util.tree_map(jnp.zeros_like, params)
    rng = np.random.default_rng(0); B, d = a.batch, a.dim
    x0 = jnp.asarray(rng.standard_normal((B, d)), dt); x1 = jnp.asarray(rng.standard_normal((B, d)) + 2, dt)
    t = jnp.asarray(rng.random(B), dt); xt = (1 - t[:, None]) * x0 + t[:, None] * x1

    @jax.jit
    def step(params, m, v, k):
        loss, g = jax.value_and_grad(am_loss)(params, x0, x1, xt, t, a.sigma)
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        c1, c2 = 1 - 0.9 ** k, 1 - 0.999 ** k
        params = jax.tree_util.tree_map(lambda p, m, v: p - 1e-4 * (m / c1) / (jnp.sqrt(v / c2) + 1e-8), params, m, v)
        return params, m, v, loss

    for k in range(1, 4):
        params, m, v, loss = step(params, m, v, k); loss.block_until_ready()
    times = []
    for k in range(4, 4 + a.steps):
        t0 = time.perf_counter(); params, m, v, loss = step(params, m, v, k); loss.block_until_ready()
        times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({"impl": "jax-" + jax.__version__, "dim": d, "width": a.width, "depth": a.depth,
                      "batch": B, "sigma": a.sigma, "dtype": str(loss.dtype), "threads": a.threads, "backend": jax.default_backend(),
                      "device": str(jax.devices()[0].device_kind), "precision": a.precision,
                      "median_step_s": times[len(times) // 2], "min_step_s": times[0],
                      "samples_per_s": B / times[len(times) // 2], "loss": float(loss)}))


if __name__ == "__main__":
    main()
