#!/usr/bin/env bash
# The whole run-time suite with native code in the same process (Ebpf.Bench --suite): builds the native reference as a
# shared library (clang, from the same C sources as the eBPF workloads), then runs one process per engine in which
# native and that engine's configurations alternate round after round on one input buffer, and each ratio to native is
# taken within a round. Steadier than bench/run-all.sh (one BenchmarkDotNet process per case, native in another
# process minutes earlier) on an unsteady host; the times are the fastest batch per round, not BenchmarkDotNet's means.
# A measurement aid, not part of CI.
#
#   bench/suite.sh [OUT_DIR]          default OUT_DIR: BenchmarkDotNet.Artifacts/suite-inproc (ignored by git)
#   ENGINES="x64 il" ROUNDS=21 WORKLOADS=constant,memcpy_1m bench/suite.sh     a subset, more rounds (default 15)
#   PROCESSES=5 bench/suite.sh       five processes per engine (default 3), taken in turn (engine after engine, then again)
#
# An entry of ENGINES is a comma-separated list of configurations measured in one process (e.g. "x64,x64-unchecked");
# the default measures each engine with memory checks on and off. The same binary can still move a workload 2-6x
# between processes (which code the runtime tiered and where it placed it), so every engine runs in PROCESSES
# processes and bench/suite-report.py takes each workload's median over them. OUT_DIR receives native.so, load.txt,
# one <engine>-<n>.md per process and report.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/BenchmarkDotNet.Artifacts/suite-inproc}"
mkdir -p "$out"
cd "$root"
LIB="$out/native.so" bench/native/run.sh
dotnet build -c Release Ebpf.Bench >/dev/null
selection=()
[ -n "${WORKLOADS:-}" ] && selection+=(--workloads "$WORKLOADS")
uptime | tee "$out/load.txt"
files=()
for n in $(seq 1 "${PROCESSES:-3}"); do
  for engines in ${ENGINES:-x64,x64-unchecked il,il-unchecked interpreter}; do
    file="$out/${engines%%,*}-$n.md"
    dotnet Ebpf.Bench/bin/Release/net10.0/Ebpf.Bench.dll --suite "$out/native.so" --rounds "${ROUNDS:-15}" --engines "$engines" \
      "${selection[@]}" | sed -n '/^per-run time/,$p' > "$file"
    files+=("$file")
    echo "$(date -u +%H:%M:%S) $engines process $n: $(grep 'geometric mean' "$file" | tr '\n' ' ')" | tee -a "$out/load.txt"
  done
done
uptime | tee -a "$out/load.txt"
python3 bench/suite-report.py "${files[@]}" | tee "$out/report.md"
