#!/usr/bin/python3
"""Kokkos Tools see amk's regions (tests/README.md):
    test_tools.py AMK WORKDIR TEST TOOL_LIBRARY
TOOL_LIBRARY is tests/tools/region_log.cpp built as a shared library: it logs each region push
and pop with its depth, as kp_space_time_stack or kp_nvtx_connector would see them."""
import os
import sys

from closed_form import check, registry, run, run_test

TESTS, test = registry()


def regions(log):
    """The log's regions as (name, enclosing names) in push order; checks that they nest."""
    out, stack = [], []
    with open(log) as f:
        lines = f.read().split("\n")
    check(lines[0] == "init" and "finalize" in lines, "the tool was loaded and finalised by Kokkos")
    wrong = []
    for line in lines[1:]:
        if line.startswith("push "):
            _, depth, name = line.split(" ", 2)
            if int(depth) != len(stack):
                wrong.append(line)
            out.append((name, tuple(stack)))
            stack.append(name)
        elif line.startswith("pop "):
            if not stack or int(line.split()[1]) != len(stack) - 1:
                wrong.append(line)
            stack = stack[:-1]
    check(not wrong and not stack, f"every push popped at its depth ({len(out)} regions; wrong: {wrong[:3]})")
    return out


@test
def regions_appear_and_nest(amk, work, tool):
    run(amk, "datagen", "gaussian", "--dim", 2, "--snapshots", 4, "--samples", 300, "--out", "data.h5", full=True)
    os.environ["KOKKOS_TOOLS_LIBS"] = tool  # Kokkos 4
    os.environ["KOKKOS_PROFILE_LIBRARY"] = tool  # Kokkos 3.x
    steps = 6
    for engine in ("gemm", "fused"):
        log = os.path.join(work, f"{engine}.regions")
        os.environ["AMK_REGION_LOG"] = log
        run(amk, "train", "--data", "data.h5", "--out", engine, "--steps", steps, "--width", 16, "--depth", 1,
            "--batch", 64, "--engine", engine, full=True)
        r = regions(log)
        names = [n for n, _ in r]
        print(f"{engine}: {len(r)} regions, {sorted(set(names))}")
        check(names.count("amk::coupling") == 1 and dict(r)["amk::coupling"] == (),
              f"{engine}: the coupling is one top-level region")
        step = [outer for n, outer in r if n == "amk::Trainer::step"]
        check(len(step) == steps and all(o == () for o in step), f"{engine}: {steps} top-level steps (got {len(step)})")
        gradient = f"amk::{engine.capitalize()}Engine::gradient"
        for inner in (gradient, "amk::Adam::step", "amk::BatchBuilder::build"):
            seen = [outer for n, outer in r if n == inner]
            check(len(seen) >= steps and all("amk::Trainer::step" in o for o in seen),
                  f"{engine}: {inner} {len(seen)} times, each inside amk::Trainer::step")


if __name__ == "__main__":
    sys.exit(run_test(TESTS))
