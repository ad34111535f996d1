#!/usr/bin/env python3
"""Turns a recorded benchmark run into the README's markdown tables.

  python3 bench/report.py NATIVE.txt [RESULTS_DIR]

NATIVE.txt is the output of bench/native/run.sh; RESULTS_DIR holds BenchmarkDotNet's JSON reports
(default BenchmarkDotNet.Artifacts/results; run Ebpf.Bench with --exporters json, or use bench/run-all.sh).
Prints:
  - the engine x workload table: median ns/run and the ratio to native, for every workload;
  - the geometric mean of the ratio to native over ALL workloads (short ones included), against the targets;
  - issue 11's and 13's per-workload targets (per-run floor, helper calls, checked against unchecked), met or not;
  - the peers' figures from issue 11 (uBPF and rbpf JITs) as reference rows beside this run's;
  - allocation per run, and the compile-time table when CompileBenchmarks were run too.
A measurement aid, not part of CI.
"""
import glob
import json
import math
import os
import sys

ENGINES = ["interpreter", "il", "x64", "il-unchecked", "x64-unchecked"]

# Geometric mean of the ratio to native over all workloads, memory checks on (issue 11).
GEOMEAN_TARGETS = {"interpreter": 80.0, "il": 2.5, "x64": 2.0}

# Issue 11's table: a public 2024 eBPF benchmark suite run by the reporter on this machine class (memory checks on,
# medians, ns). (low, high) where the issue gives a range. The suite's programs are not this project's: the shapes
# match, the exact inputs may not (e.g. where its strcmp mismatches).
PEERS = [
    ("return constant", "constant", {"uBPF JIT": (4, 7), "rbpf JIT": (5, 6), "their native": (1.3, 2.6)}),
    ("two loads and an add", "load_add", {"uBPF JIT": (5, 7), "rbpf JIT": (5, 5), "their native": (1.3, 1.9)}),
    ("byte copy of 1 MiB", "memcpy_1m", {"uBPF JIT": (430e3, 550e3), "rbpf JIT": (570e3, 570e3), "their native": (22e3, 22e3)}),
    ("strcmp over 1 MiB, early mismatch", "strcmp_1m_early",
     {"uBPF JIT": (220e3, 220e3), "rbpf JIT": (180e3, 180e3), "their native": (80e3, 120e3)}),
    ("log2 over an 8 KiB array", "log2", {"uBPF JIT": (2.1e3, 4.4e3), "rbpf JIT": (4.7e3, 4.7e3), "their native": (2.1e3, 2.5e3)}),
]


def read_native(path):
    """workload -> (r0, median ns, min ns or None). Reads the current driver's five columns and the older three."""
    native = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if line.startswith("#") or not parts or parts[0] == "workload" or len(parts) not in (3, 5):
                continue
            try:
                native[parts[0]] = (int(parts[1]), float(parts[2]), float(parts[3]) if len(parts) == 5 else None)
            except ValueError:
                continue
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
            allocated = memory.get("BytesAllocatedPerOperation")
            if allocated:
                allocated = (allocated, memory.get("TotalOperations"))
            rows.append((b["Type"], b["Method"], params, stats.get("Median"), allocated))
    return rows


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:,.2f} us"
    return f"{ns:,.1f} ns"


def fmt_range(pair):
    low, high = pair
    return fmt_ns(low) if low == high else f"{fmt_ns(low)}-{fmt_ns(high)}"


def geomean(values):
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def verdict(ok):
    return "met" if ok else "**not met**"


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    native = read_native(sys.argv[1])
    rows = read_reports(sys.argv[2] if len(sys.argv) > 2 else "BenchmarkDotNet.Artifacts/results")
    runs = {(p["Engine"], p["Workload"]): (ns, alloc) for t, m, p, ns, alloc in rows if t == "RunBenchmarks" and ns is not None}
    engines = [e for e in ENGINES if any(k[0] == e for k in runs)]
    workloads = [w for w in native if any(k[1] == w for k in runs)]
    missing_native = sorted({w for _, w in runs} - set(native))

    def ns(e, w):
        return runs.get((e, w), (None, None))[0]

    print("| workload | native | " + " | ".join(engines) + " |")
    print("|---|---:|" + "---:|" * len(engines))
    for w in workloads:
        cells = []
        for e in engines:
            t = ns(e, w)
            cells.append("-" if t is None else f"{fmt_ns(t)} ({t / native[w][1]:.1f}x)")
        print(f"| {w} | {fmt_ns(native[w][1])} | " + " | ".join(cells) + " |")
    if missing_native:
        print()
        print("No native figure (left out of the ratios): " + ", ".join(missing_native))

    print()
    print(f"Geometric mean of the ratio to native over all {len(workloads)} workloads (" + ", ".join(workloads) + "):")
    print()
    print("| engine | geomean x native | target |")
    print("|---|---:|---:|")
    for e in engines:
        ratios = [ns(e, w) / native[w][1] for w in workloads if ns(e, w) is not None]
        g = geomean(ratios)
        incomplete = "" if len(ratios) == len(workloads) else f" (only {len(ratios)} of {len(workloads)} workloads)"
        target = GEOMEAN_TARGETS.get(e)
        goal = "–" if target is None else f"<= {target:g}x: {verdict(g is not None and g <= target)}"
        print(f"| {e} | {'-' if g is None else f'{g:.2f}x'}{incomplete} | {goal} |")

    print_targets(ns)
    print_peers(ns, engines, native)

    # BenchmarkDotNet divides what was allocated during the measured iterations by the runs in them: a few bytes over
    # a few hundred runs of a long workload is something the runtime allocated once (e.g. its tiering), not each run.
    allocated = sorted((e, w, a) for (e, w), (_, a) in runs.items() if a)
    print()
    print("Allocation per run (BenchmarkDotNet's MemoryDiagnoser): " + (
        "none" if not allocated else ", ".join(f"{e}/{w} {b} B/run over {n} runs" for e, w, (b, n) in allocated)))
    print_compile(rows)
    return 0


def print_targets(ns):
    """Issue 11's and 13's per-workload targets that this run can judge (memory checks on unless stated)."""
    checks = []

    def add(what, value, limit, shown):
        if value is not None:
            checks.append((what, shown(value), limit, verdict(value <= limit[0])))

    for e, limit in (("x64", 5), ("il", 5), ("interpreter", 15)):
        add(f"{e}: constant (per-run floor)", ns(e, "constant"), (limit, f"<= {limit} ns"), fmt_ns)
    for e in ("x64", "il"):
        add(f"{e}: load_add", ns(e, "load_add"), (8, "<= 8 ns"), fmt_ns)
    for e in ("x64", "il"):
        t = ns(e, "helper_calls")
        add(f"{e}: one helper call (helper_calls / 1,024)", None if t is None else t / 1024, (5, "<= 5 ns"), fmt_ns)

    def ratio(a, b):
        return None if a is None or b is None else a / b

    for e in ("x64", "il"):
        add(f"{e}: memcpy checked / unchecked", ratio(ns(e, "memcpy"), ns(e + "-unchecked", "memcpy")), (1.3, "<= 1.3x"), lambda r: f"{r:.2f}x")
    add("x64 / il: memcpy, both checked", ratio(ns("x64", "memcpy"), ns("il", "memcpy")), (1.0, "<= 1.0x"), lambda r: f"{r:.2f}x")
    add("x64: stack_array checked / unchecked", ratio(ns("x64", "stack_array"), ns("x64-unchecked", "stack_array")), (1.3, "<= 1.3x"),
        lambda r: f"{r:.2f}x")
    for w in ("memcpy", "checksum", "filter", "prime", "log2"):
        for e in ("x64", "il"):
            add(f"{e}: {w} checked / unchecked (issue 13)", ratio(ns(e, w), ns(e + "-unchecked", w)), (1.05, "<= 1.05x"),
                lambda r: f"{r:.2f}x")
    if not checks:
        return
    print()
    print("Targets of issues 11 and 13 judged on this run:")
    print()
    print("| target | measured | goal | |")
    print("|---|---:|---:|---|")
    for what, shown, limit, v in checks:
        print(f"| {what} | {shown} | {limit[1]} | {v} |")


def print_peers(ns, engines, native):
    """The peers' figures from issue 11 beside this run's, per shape."""
    ours = [e for e in ("x64", "il", "interpreter") if e in engines]
    if not ours:
        return
    peers = ["uBPF JIT", "rbpf JIT", "their native"]
    print()
    print("Reference rows: issue 11's figures for the uBPF and rbpf JITs (a public 2024 suite, the reporter's run on this")
    print("machine class; not re-measured here) beside this run's. \"x64 <= peers\" compares with the faster end of each peer's range.")
    print()
    print("| shape | workload | " + " | ".join(ours) + " | native (here) | " + " | ".join(peers) + " | x64 <= peers |")
    print("|---|---|" + "---:|" * (len(ours) + 1 + len(peers)) + "---|")
    for shape, w, figures in PEERS:
        x64 = ns("x64", w)
        fastest_peer = min(figures["uBPF JIT"][0], figures["rbpf JIT"][0])
        ok = "-" if x64 is None else ("yes" if x64 <= fastest_peer else "**no**")
        here = fmt_ns(native[w][1]) if w in native else "-"
        print(f"| {shape} | {w} | " + " | ".join(fmt_ns(ns(e, w)) for e in ours) + f" | {here} | "
              + " | ".join(fmt_range(figures[p]) for p in peers) + f" | {ok} |")


def print_compile(rows):
    compile_rows = {(p["Engine"], int(p["Instructions"])): ns for t, m, p, ns, a in rows if t == "CompileBenchmarks"}
    load_rows = {int(p["Instructions"]): ns for t, m, p, ns, a in rows if t == "LoadBenchmarks"}
    if not compile_rows:
        return
    sizes = sorted({s for _, s in compile_rows})
    measured = [e for e in ENGINES if any(k[0] == e for k in compile_rows)]
    print()
    print("Compile time (compile + first run + dispose; the program already decoded):")
    print()
    print("| instructions | load (decode + checks) | " + " | ".join(measured) + " |")
    print("|---:|---:|" + "---:|" * len(measured))
    for s in sizes:
        cells = [fmt_ns(compile_rows.get((e, s))) for e in measured]
        print(f"| {s:,} | {fmt_ns(load_rows.get(s))} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
