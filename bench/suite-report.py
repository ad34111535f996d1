#!/usr/bin/env python3
"""Combines the tables of several Ebpf.Bench --suite processes (bench/suite.sh) into one per engine configuration.

  python3 bench/suite-report.py FILE.md...

Each FILE is one process's output. Within a process every ratio to native was taken within rounds; between processes
the same binary can still move a workload 2-6x (which code the runtime tiered, where it placed it), so each workload's
ratio here is the median over the processes of that process's median ratio, and the geometric mean covers every
workload. Prints one table per configuration: per workload the per-process ratios and their median; then the geometric
mean of the medians, and the geometric mean of each process alone (to show the spread). A measurement aid, not part of CI.
"""
import math
import re
import statistics
import sys
from collections import defaultdict

from report import GEOMEAN_TARGETS as TARGETS  # bench/report.py: issue 11's targets, one table for both reports


def read(path):
    """configuration -> workload -> (ratio, engine time text, native time text)."""
    result = defaultdict(dict)
    labels = None
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("| workload | native |"):
                labels = cells[2:]
                continue
            if labels is None or not line.startswith("| ") or line.startswith("|---"):
                continue
            workload, native = cells[0], cells[1]
            for label, cell in zip(labels, cells[2:]):
                m = re.match(r"(.+?) \(([0-9.]+)x", cell)
                if m:
                    result[label][workload] = (float(m.group(2)), m.group(1), native)
    return result


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    runs = [read(p) for p in paths]
    configurations = []
    for run in runs:
        for label in run:
            if label not in configurations:
                configurations.append(label)
    for label in configurations:
        present = [run[label] for run in runs if label in run]
        workloads = []
        for run in present:
            for w in run:
                if w not in workloads:
                    workloads.append(w)
        print(f"### {label}: {len(present)} process(es)")
        print()
        print("| workload | ratio to native per process | median |")
        print("|---|---|---:|")
        medians = []
        for w in workloads:
            ratios = [run[w][0] for run in present if w in run]
            median = statistics.median(ratios)
            medians.append(median)
            print(f"| {w} | {', '.join(f'{r:.2f}x' for r in ratios)} | {median:.2f}x |")
        geomean = math.exp(sum(math.log(m) for m in medians) / len(medians))
        per_process = [math.exp(sum(math.log(run[w][0]) for w in run) / len(run)) for run in present]
        engine = label.split("-")[0]
        target = f" (target <= {TARGETS[engine]}x: {'met' if geomean <= TARGETS[engine] else 'not met'})" \
            if engine in TARGETS and label == engine else ""
        print()
        print(f"{label}: geometric mean over {len(medians)} workloads of the per-workload medians: **{geomean:.2f}x**{target}; "
              f"per process {', '.join(f'{g:.2f}x' for g in per_process)}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
