#!/usr/bin/env python3
"""OT-CFM (TorchCFM, Tong et al. 2024) as a peer of amk in the trajectory-inference protocols.

apps/amk_protocol.py --peer runs it beside amk on the same files and scores its samples with the
same `amk eval` (exact W1/W2). Setup (PyPI's TorchCFM on Debian's PyTorch 1.13, no download of
torch itself):
  apt-get install python3-torch python3-venv python3-sklearn
  python3 -m venv --system-site-packages /opt/venv-cfm
  /opt/venv-cfm/bin/pip install --no-deps torchcfm torchdiffeq && /opt/venv-cfm/bin/pip install pot

  otcfm_peer.py --data TRAIN.h5 --full-data DATA.h5 --seed S --out DIR \\
      --push START:TIME:OUT.h5 [--push ...] [--steps 10000] [--batch 256] [--width 64] [--sigma 0.1]

Training follows TorchCFM's time-series examples: each step draws a batch from every pair of
consecutive snapshots of TRAIN.h5, couples it by exact OT (ExactOptimalTransportConditionalFlow
Matcher), and regresses the MLP (TorchCFM's models.MLP, time as an input) on the conditional
flow, in the data's physical time (the interval's velocity divided by its length). Each --push
integrates snapshot START of DATA.h5 (all its cells) to TIME with dopri5 (torchdiffeq) and writes
amk sample's layout (/times [1], /x [1, n, d]).
"""
import argparse
import json
import time

import h5py
import numpy as np
import torch
import torchcfm
from torchcfm.conditional_flow_matching import ExactOptimalTransportConditionalFlowMatcher
from torchcfm.models.models import MLP
from torchdiffeq import odeint


def snapshots(path):
    with h5py.File(path, "r") as f:
        times, x, off = f["times"][:], f["x"][:], f["offsets"][:]
    return times, [torch.tensor(x[off[k]:off[k + 1]], dtype=torch.float32) for k in range(len(times))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the snapshots to train on (amk's HDF5 layout)")
    ap.add_argument("--full-data", required=True, help="the snapshots the pushes start from")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--push", action="append", default=[], help="START:TIME:OUT.h5")
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--sigma", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    times, xs = snapshots(args.data)
    dim = xs[0].shape[1]
    model = MLP(dim, w=args.width, time_varying=True)
    fm = ExactOptimalTransportConditionalFlowMatcher(sigma=args.sigma)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    t0 = time.time()
    for _ in range(args.steps):
        opt.zero_grad()
        loss = 0.0
        for k in range(len(times) - 1):
            x0 = xs[k][torch.randint(len(xs[k]), (args.batch,))]
            x1 = xs[k + 1][torch.randint(len(xs[k + 1]), (args.batch,))]
            tau, xt, ut = fm.sample_location_and_conditional_flow(x0, x1)
            dt = float(times[k + 1] - times[k])
            t = times[k] + tau * dt
            vt = model(torch.cat([xt, t[:, None].float()], dim=-1))
            loss = loss + torch.mean((vt - ut / dt) ** 2)
        loss.backward()
        opt.step()
    train_s = time.time() - t0

    def field(t, x):
        return model(torch.cat([x, t.expand(x.shape[0], 1)], dim=-1))

    full_times, full = snapshots(args.full_data)
    with torch.no_grad():
        for spec in args.push:
            start, to_time, out = spec.split(":", 2)
            start, to_time = int(start), float(to_time)
            span = torch.tensor([full_times[start], to_time], dtype=torch.float32)
            x = odeint(field, full[start], span, method="dopri5", atol=1e-5, rtol=1e-5)[-1]
            with h5py.File(out, "w") as f:
                f["times"] = np.array([to_time])
                f["x"] = x.numpy().astype(np.float64)[None]
    print(json.dumps({"peer": f"OT-CFM (TorchCFM {torchcfm.__version__}, PyTorch {torch.__version__})",
                      "train_s": train_s, "loss": float(loss)}))


if __name__ == "__main__":
    main()
