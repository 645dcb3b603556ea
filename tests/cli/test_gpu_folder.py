#!/usr/bin/python3
"""The GPU folder's helpers (perf/gpu/, README "On a GPU"), checked on this machine:
    test_gpu_folder.py AMK WORKDIR TEST
needed.py (which libraries a folder lacks, from the programs' DT_NEEDED entries, recursively:
run.sh --check's test where the CUDA driver is absent) against readelf and ldd on amk itself;
report.py's table and ratios on a run's lines."""
import json
import os
import re
import subprocess
import sys

from closed_form import check, registry, run_test

HERE = os.path.dirname(os.path.abspath(__file__))
GPU = os.path.join(HERE, "..", "..", "perf", "gpu")
sys.path.insert(0, GPU)
import needed  # noqa: E402

TESTS, test = registry()


def ldd(path):
    """{soname: path} of every library the loader resolves for path (all levels)."""
    out = subprocess.run(["ldd", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    return dict(re.findall(r"^\s*(\S+) => (/\S+)", out, re.M))


def missing(libdir, *files, allow=()):
    p = subprocess.run([sys.executable, os.path.join(GPU, "needed.py"), libdir, *files, "--allow", *allow],
                       stdout=subprocess.PIPE, text=True)
    return p.returncode, [line.split(": ")[1] for line in p.stdout.splitlines()]


@test
def needed_finds_what_the_loader_loads(amk, work):
    out = subprocess.run(["readelf", "-d", amk], stdout=subprocess.PIPE, text=True, check=True).stdout
    direct = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", out)
    check(needed.needed(amk) == direct and len(direct) > 5,
          f"needed.py reads amk's {len(direct)} DT_NEEDED entries as readelf does")
    libs = ldd(amk)
    # an empty folder lacks exactly amk's direct libraries
    os.makedirs("empty")
    rc, lacks = missing("empty", amk)
    check(rc == 1 and sorted(lacks) == sorted(n for n in direct if not n.startswith("ld-linux")),
          f"an empty lib/ lacks amk's {len(lacks)} direct libraries")
    # every library ldd resolves: nothing lacks, at any level
    os.makedirs("all")
    for name, path in libs.items():
        os.symlink(path, os.path.join("all", name))
    rc, lacks = missing("all", amk)
    check(rc == 0 and lacks == [], f"with the {len(libs)} libraries ldd resolves nothing lacks ({lacks[:3]})")
    # one library that only another library names (not amk itself): found through its parent
    indirect = sorted(set(libs) - set(direct))
    check(indirect, "amk loads libraries that only its libraries name")
    gone = indirect[0]
    os.remove(os.path.join("all", gone))
    rc, lacks = missing("all", amk)
    check(rc == 1 and lacks == [gone], f"without {gone} exactly it lacks ({lacks})")
    rc, lacks = missing("all", amk, allow=[gone])
    check(rc == 0, f"--allow {gone}: nothing lacks")


@test
def report_gives_peer_over_amk_ratios(amk, work):
    with open("amk_bench.jsonl", "w") as f:
        for width, s in ((64, 0.002), (256, 0.010)):
            f.write(json.dumps({"loss": "am", "dtype": "float", "width": width, "median_step_s": s,
                                "engine": "staged", "engine_times_s": {"gemm": 0.004, "staged": s}}) + "\n")
    with open("peers.jsonl", "w") as f:
        f.write(json.dumps({"peer": "jax", "loss": "am", "mode": "highest", "dtype": "float32", "width": 64,
                            "median_step_s": 0.003}) + "\n")
        f.write(json.dumps({"peer": "torch", "loss": "am", "mode": "on", "dtype": "float32", "width": 256,
                            "median_step_s": 0.005}) + "\n")
    with open("parts.jsonl", "w") as f:
        for part, status in (("loads", "ok"), ("test amk_test_engine_cuda", "failed"), ("peer jax eam", "skipped")):
            f.write(json.dumps({"part": part, "status": status, "seconds": 1, "detail": ""}) + "\n")
    out = subprocess.run([sys.executable, os.path.join(GPU, "report.py"), ".", "--seconds", "12"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    print(out)
    with open("report.json") as f:
        r = json.load(f)
    rows = {row["width"]: row for row in r["table"]}
    check(abs(rows[64]["ratios"]["jax-highest"] - 1.5) < 1e-12 and abs(rows[256]["ratios"]["torch-on"] - 0.5) < 1e-12,
          "the ratios are the peer's time over amk's (1.5 and 0.5)")
    check(rows[64]["amk"]["engine"] == "staged" and rows[64]["amk"]["ms"] == 2.0, "amk's engine and time in ms")
    check(r["failed"] == ["test amk_test_engine_cuda"] and r["skipped"] == ["peer jax eam"] and r["seconds"] == 12,
          "failed and skipped parts are listed apart")


if __name__ == "__main__":
    sys.exit(run_test(TESTS))
