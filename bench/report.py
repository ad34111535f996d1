#!/usr/bin/env python3
"""Turns a recorded benchmark run into the README's markdown tables.

  python3 bench/report.py NATIVE.txt [RESULTS_DIR]

NATIVE.txt is the output of bench/native/run.sh; RESULTS_DIR holds BenchmarkDotNet's JSON reports
(default BenchmarkDotNet.Artifacts/results; run Ebpf.Bench with --exporters json). Prints the engine x workload
table (ns/run and ratio to native), the geometric means over the loop-heavy workloads, and the compile times.
A measurement aid, not part of CI.
"""
import glob
import json
import math
import os
import sys

LOOP_HEAVY = ["prime", "memcpy", "strcmp_equal", "log2", "switch"]
ENGINES = ["interpreter", "il", "x64", "il-unchecked", "x64-unchecked"]


def read_native(path):
    native = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#") and parts[0] != "workload":
                native[parts[0]] = (int(parts[1]), float(parts[2]))
    return native


def read_reports(results):
    rows = []
    for path in glob.glob(os.path.join(results, "*-report-full*.json")):
        with open(path) as f:
            data = json.load(f)
        for b in data["Benchmarks"]:
            params = dict(p.split("=", 1) for p in b["Parameters"].split("&") if p)
            stats = b.get("Statistics") or {}
            memory = b.get("Memory") or {}
            rows.append((b["Type"], b["Method"], params, stats.get("Median"), memory.get("BytesAllocatedPerOperation")))
    return rows


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:,.2f} us"
    return f"{ns:,.1f} ns"


def main():
    native = read_native(sys.argv[1])
    rows = read_reports(sys.argv[2] if len(sys.argv) > 2 else "BenchmarkDotNet.Artifacts/results")
    runs = {(p["Engine"], p["Workload"]): (ns, alloc) for t, m, p, ns, alloc in rows if t == "RunBenchmarks"}
    engines = [e for e in ENGINES if any(k[0] == e for k in runs)]
    workloads = [w for w in native if any(k[1] == w for k in runs)]

    print("| workload | native | " + " | ".join(engines) + " |")
    print("|---|---:|" + "---:|" * len(engines))
    for w in workloads:
        cells = []
        for e in engines:
            ns, _ = runs.get((e, w), (None, None))
            cells.append("-" if ns is None else f"{fmt_ns(ns)} ({ns / native[w][1]:.1f}x)")
        print(f"| {w} | {fmt_ns(native[w][1])} | " + " | ".join(cells) + " |")

    print()
    print("Geometric mean of the ratio to native over the loop-heavy workloads (" + ", ".join(LOOP_HEAVY) + "):")
    print()
    print("| engine | geomean x native |")
    print("|---|---:|")
    for e in engines:
        ratios = [runs[(e, w)][0] / native[w][1] for w in LOOP_HEAVY if (e, w) in runs and w in native]
        if ratios:
            print(f"| {e} | {math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}x |")

    allocated = sorted({(e, w) for (e, w), (_, a) in runs.items() if a})
    print()
    print("Allocation per run: " + ("none" if not allocated else ", ".join(f"{e}/{w}" for e, w in allocated)))

    compile_rows = {(p["Engine"], int(p["Instructions"])): ns for t, m, p, ns, a in rows if t == "CompileBenchmarks"}
    load_rows = {int(p["Instructions"]): ns for t, m, p, ns, a in rows if t == "LoadBenchmarks"}
    if compile_rows:
        sizes = sorted({s for _, s in compile_rows})
        print()
        print("Compile time (compile + first run + dispose; the program already decoded):")
        print()
        print("| instructions | load (decode + checks) | " + " | ".join(e for e in ENGINES if any(k[0] == e for k in compile_rows)) + " |")
        print("|---:|---:|" + "---:|" * len({e for e, _ in compile_rows}))
        for s in sizes:
            cells = [fmt_ns(compile_rows.get((e, s))) for e in ENGINES if any(k[0] == e for k in compile_rows)]
            print(f"| {s:,} | {fmt_ns(load_rows.get(s))} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
