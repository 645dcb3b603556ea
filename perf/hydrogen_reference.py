#!/usr/bin/python3
"""The reference code's hydrogen training (necludov/action-matching, PyTorch) on an amk data
file, scored by the same `amk eval` as amk's own run: the side-by-side of README § Hydrogen.

  /usr/bin/python3 perf/hydrogen_reference.py --reference /opt/action-matching --amk build/apps/amk \\
      --data hydrogen.h5 --steps 5000 --out ref-run [--threads 2] [--max-samples 200]

The reference code is not part of amk: fetch it outside this repository (git clone
https://github.com/necludov/action-matching /opt/action-matching). This script imports its
modules unchanged (models/mlp.py's MLP and ActionNet, core/losses.py's AMLoss, models/ema.py,
utils/train_utils.py's train loop, q_t and evaluate) and replaces only what cannot run here:
its DataGenerator's data come from the amk file (same snapshots, same q_t), wandb is a stub
that keeps the logged numbers, the device is the CPU (where evaluate() would integrate the
first snapshot in place: it is restored after each evaluation), and data regeneration (every
5000 steps in the reference) is off, since amk trains on one file too.

Written under --out: samples.h5 (the EMA model's Euler trajectories from snapshot 0, 1000
steps as the reference's evaluate, recorded at its ten compared times, in amk sample's format), points.h5 and
field.h5 (its velocity at up to --max-samples of every snapshot's samples, physical units),
and report.json: wall time of the training loop (evaluations excluded), steps, step time, the
reference's own avg_mmd, and `amk eval`'s avg |MMD^2| (reference kernel) and velocity error.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import types

import h5py
import numpy as np


def stub_modules():
    """wandb and tqdm are imported by the reference's train_utils; neither is needed here."""
    logs = []
    wandb = types.ModuleType("wandb")
    wandb.log = lambda d, step=None: logs.append(dict({k: float(v) for k, v in d.items()}, step=step))
    wandb.util = types.SimpleNamespace(generate_id=lambda: "amk")
    sys.modules.setdefault("wandb", wandb)
    if "tqdm" not in sys.modules:
        try:
            import tqdm.auto  # noqa: F401
        except ImportError:
            tqdm = types.ModuleType("tqdm")
            auto = types.ModuleType("tqdm.auto")
            auto.tqdm, auto.trange = (lambda x, **k: x), (lambda *a, **k: range(*a))
            tqdm.auto = auto
            sys.modules["tqdm"], sys.modules["tqdm.auto"] = tqdm, auto
    return logs


def ns(**kw):
    return types.SimpleNamespace(**kw)


def amk_eval(amk, *args):
    out = subprocess.run([amk, "eval", *map(str, args)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", required=True, help="checkout of necludov/action-matching")
    p.add_argument("--amk", required=True, help="the amk program (for amk eval)")
    p.add_argument("--data", required=True, help="amk datagen hydrogen output")
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (Debian's torch 1.13 is fastest on one here: 55 ms/step, 74-190 on two)")
    p.add_argument("--max-samples", type=int, default=200, help="velocity error: samples per snapshot")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    logs = stub_modules()
    sys.path.insert(0, os.path.abspath(a.reference))
    import torch
    from models.mlp import MLP, ActionNet
    from models import ema
    from core.losses import AMLoss
    from utils import train_utils

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    os.makedirs(a.out, exist_ok=True)

    with h5py.File(a.data, "r") as f:
        times, x, off = f["times"][:], f["x"][:], f["offsets"][:]
    sizes = np.diff(off)
    if np.any(sizes != sizes[0]):
        sys.exit("hydrogen_reference: the reference code needs equal snapshot sizes")
    K, N = len(times), int(sizes[0])
    t0, T = float(times[0]), float(times[-1] - times[0])
    if np.abs(np.diff(times) - T / (K - 1)).max() > 1e-9 * T:
        sys.exit("hydrogen_reference: the reference code needs equally spaced snapshots")

    class AmkFileData(train_utils.DataGenerator):
        """The reference's DataGenerator (its q_t unchanged) on the amk file's snapshots."""

        def __init__(self):
            self.bs, self.n_steps, self.T = N, K - 1, T
            self.samples = torch.from_numpy(x.reshape(K, N, 3).astype(np.float32))
            self.times = torch.from_numpy((times - t0).astype(np.float32))

        def gen_data(self):
            pass  # no regeneration (regen_every is set past the last step)

    config = ns(data=ns(T=T, n_steps=K - 1, batch_size=N, name="hydrogen"),
                model=ns(method="am", n_hid=256, savepath=os.path.join(a.out, "am_hydrogen"), checkpoints=[]),
                train=ns(batch_size=1000, lr=1e-4, warmup=5000, grad_clip=1.0, betas=(0.9, 0.999), wd=0.0,
                         n_iter=a.steps, regen_every=a.steps + 1, save_every=10 ** 9, eval_every=10 ** 9,
                         current_step=0),
                eval=ns(ema=0.9999))
    device = torch.device("cpu")
    data_gen = AmkFileData()
    model = ActionNet(MLP(n_hid=config.model.n_hid)).to(device)
    loss = AMLoss(model, data_gen.q_t, config, device)
    optim = torch.optim.Adam(model.parameters(), lr=config.train.lr, betas=config.train.betas, eps=1e-8,
                             weight_decay=config.train.wd)
    ema_ = ema.ExponentialMovingAverage(model.parameters(), decay=config.eval.ema)

    evaluate, spent = train_utils.evaluate, [0.0]

    def timed_evaluate(*args):
        # evaluate() integrates data_gen.samples[0].to(device) in place: a copy on the GPU the
        # reference ran on, the training data itself on the CPU; keep the data intact
        start, first = time.perf_counter(), data_gen.samples[0].clone()
        result = evaluate(*args)
        data_gen.samples[0] = first
        spent[0] += time.perf_counter() - start
        return result

    train_utils.evaluate = timed_evaluate
    start = time.perf_counter()
    train_utils.train(model, ema_, loss, data_gen, optim, config, device)
    wall = time.perf_counter() - start - spent[0]
    own_mmd = [l["avg_mmd"] for l in logs if "avg_mmd" in l][-1]
    losses = [l["loss_am"] for l in logs if "loss_am" in l]
    print(f"reference: {a.steps} steps in {wall:.1f} s ({1e3 * wall / a.steps:.1f} ms/step, {a.threads} threads), "
          f"its avg_mmd {own_mmd:.3g}", flush=True)

    # the EMA weights, as the reference evaluates
    ema_.copy_to(model.parameters())
    model.eval()
    # trajectories: its evaluate's Euler scheme (dt = 1/n_steps in normalised time) from
    # snapshot 0, recorded at the ten times it compares (T/10, ..., T), so that amk eval's
    # average is its avg_mmd
    xs = data_gen.samples[0].clone()
    tn = torch.zeros([N, 1])
    record, record_times = [], []
    for i in range(K - 1):
        xs = model.propagate(tn, xs, 1.0 / (K - 1))
        tn.data += 1.0 / (K - 1)
        if (i + 1) % ((K - 1) // 10) == 0:
            record.append(xs.detach().numpy().copy())
            record_times.append(times[i + 1])
    with h5py.File(os.path.join(a.out, "samples.h5"), "w") as f:
        f["times"] = np.array(record_times)
        f["x"] = np.stack(record).astype(np.float64)
    # velocity: grad_x s in normalised time, divided by T for physical units
    m = min(a.max_samples, N)
    pts = np.concatenate([x[off[k]:off[k] + m] for k in range(K)]).astype(np.float32)
    ts = np.repeat(times, m)
    grads = []
    for b in range(0, len(pts), 20000):
        xb = torch.from_numpy(pts[b:b + 20000]).requires_grad_(True)
        tb = torch.from_numpy(((ts[b:b + 20000] - t0) / T).astype(np.float32)).view(-1, 1)
        grads.append(torch.autograd.grad(model(tb, xb).sum(), xb)[0].numpy() / T)
    with h5py.File(os.path.join(a.out, "points.h5"), "w") as f:
        f["x"], f["t"] = pts.astype(np.float64), ts
    with h5py.File(os.path.join(a.out, "field.h5"), "w") as f:
        f["grad_x"] = np.concatenate(grads).astype(np.float64)

    mmd = amk_eval(a.amk, "--data", a.data, "--samples", os.path.join(a.out, "samples.h5"), "--mmd-kernel",
                   "reference", "--max-samples", N)
    vel = amk_eval(a.amk, "--data", a.data, "--velocity", "hydrogen", "--points", os.path.join(a.out, "points.h5"),
                   "--field", os.path.join(a.out, "field.h5"))["velocity"]
    report = {"code": "necludov/action-matching (PyTorch " + torch.__version__ + ", CPU)", "steps": a.steps,
              "threads": a.threads, "train_seconds": wall, "ms_per_step": 1e3 * wall / a.steps,
              "final_loss": float(np.mean(losses[-10:])), "reference_avg_mmd": own_mmd,
              "avg_abs_mmd2": mmd["avg_abs_mmd2"], "mmd2": [r["mmd2"] for r in mmd["results"]],
              "mmd_times": [r["time"] for r in mmd["results"]],
              "velocity_relative_l2": vel["relative_l2"], "velocity_points": vel["points"],
              "velocity_excluded": vel["excluded"], "velocity_gradient_floor": vel["gradient_floor"],
              "velocity_per_snapshot": vel["snapshots"]}
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"reference: avg |MMD^2| {report['avg_abs_mmd2']:.3g} (amk eval), velocity error "
          f"{report['velocity_relative_l2']:.4f} on {vel['points'] - vel['excluded']} points; "
          f"wrote {os.path.join(a.out, 'report.json')}")


if __name__ == "__main__":
    main()
