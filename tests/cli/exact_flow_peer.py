#!/usr/bin/python3
"""A peer for apps/amk_protocol.py --peer whose answer is known: it "trains" nothing and moves
snapshot START of --full-data to TIME by the exact flow map of the tests' Gaussian path,
x_T = mu(T) + sigma(T)/sigma(S) (x - mu(S)), so its W1 is the sampling floor. Interface as
perf/otcfm_peer.py: --data --full-data --seed --out --push START:TIME:OUT.h5 ...; one JSON line."""
import argparse
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from closed_form import PATH  # noqa: E402

ap = argparse.ArgumentParser()
for name in ("data", "full-data", "out"):
    ap.add_argument(f"--{name}", required=True)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--push", action="append", default=[])
a = ap.parse_args()
with h5py.File(a.full_data, "r") as f:
    times, x, off = f["times"][:], f["x"][:], f["offsets"][:]
for spec in a.push:
    start, to_time, out = spec.split(":", 2)
    start, to_time = int(start), float(to_time)
    S, x0 = times[start], x[off[start]:off[start + 1]]
    with h5py.File(out, "w") as f:
        f["times"] = np.array([to_time])
        f["x"] = (PATH.mean(to_time) + PATH.std(to_time) / PATH.std(S) * (x0 - PATH.mean(S)))[None]
print(json.dumps({"peer": "exact flow map", "train_s": 0.0}))
