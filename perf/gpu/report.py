"""The device run's report (perf/gpu/run.sh): gathers its parts into one JSON file,
report.json, and prints the table of step times with amk's same-run ratios to the peers.

  python3 report.py DIR [--seconds S]

DIR holds parts.jsonl (each part's status and time), amk_bench.jsonl (`amk bench` lines),
peers.jsonl (jax_am.py / torch_am.py lines, tagged with peer, loss and mode) and machine.txt.
"""
import argparse
import json
import os


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip().startswith("{")]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--seconds", type=float, default=0)
    a = p.parse_args()
    parts = lines(os.path.join(a.dir, "parts.jsonl"))
    amk = lines(os.path.join(a.dir, "amk_bench.jsonl"))
    peers = lines(os.path.join(a.dir, "peers.jsonl"))
    machine = open(os.path.join(a.dir, "machine.txt")).read() if os.path.exists(os.path.join(a.dir, "machine.txt")) else ""

    # one row per (loss, dtype, width): amk's median step and engine, each peer's, and the ratios
    rows = {}
    for r in amk:
        dtype = "float32" if r["dtype"] == "float" else "float64"
        rows.setdefault((r["loss"], dtype, r["width"]), {})["amk"] = {
            "ms": r["median_step_s"] * 1e3, "engine": r["engine"], "engine_times_s": r.get("engine_times_s"),
            "gflops": r.get("gflops"), "of_gemm": r.get("of_gemm")}
    for r in peers:
        dtype = r.get("dtype", "float32")
        dtype = "float64" if "64" in str(dtype) else "float32"
        key = f"{r['peer']}-{r['mode']}"
        rows.setdefault((r["loss"], dtype, r["width"]), {})[key] = {"ms": r["median_step_s"] * 1e3,
                                                                    "device": r.get("device")}
    table = []
    for (loss, dtype, width), cells in sorted(rows.items()):
        row = {"loss": loss, "dtype": dtype, "width": width, **cells}
        if "amk" in cells:
            row["ratios"] = {k: v["ms"] / cells["amk"]["ms"] for k, v in cells.items() if k != "amk"}
        table.append(row)
    failed = [x["part"] for x in parts if x["status"] in ("failed", "timeout")]
    skipped = [x["part"] for x in parts if x["status"] == "skipped"]
    report = {"machine": machine, "seconds": a.seconds, "parts": parts, "failed": failed, "skipped": skipped,
              "table": table}
    with open(os.path.join(a.dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)

    print(f"report.json: {len(parts)} parts, {len(failed)} failed, {len(skipped)} skipped, {a.seconds:.0f} s")
    for row in table:
        cells = "  ".join(f"{k} {v['ms']:.3g} ms" + (f" ({v['engine']})" if k == "amk" else "")
                          for k, v in row.items() if isinstance(v, dict) and "ms" in v)
        ratios = "  ".join(f"{k}/amk {v:.2f}" for k, v in row.get("ratios", {}).items())
        print(f"{row['loss']} {row['dtype']} w{row['width']}: {cells}  {ratios}")
    for name in failed:
        print(f"failed: {name}")


if __name__ == "__main__":
    main()
