#!/usr/bin/env bash
# The whole run-time suite in one go (about 10 minutes on 2 cores): the native reference, every workload on every
# engine configuration with BenchmarkDotNet (--job Short: 3 warm-up and 3 measured iterations, medians, one process
# per case), and the README's tables from both. A measurement aid, not part of CI (CI runs the smoke check only).
#
#   bench/run-all.sh [OUT_DIR]        default OUT_DIR: BenchmarkDotNet.Artifacts/suite (ignored by git)
#   ENGINES=x64,il WORKLOADS=constant,memcpy_1m bench/run-all.sh     a subset
#
# OUT_DIR receives native.txt (bench/native/run.sh), load.txt (uptime before and after), the BenchmarkDotNet
# results and report.md (bench/report.py). The generous build timeout is for a loaded machine (the default, 2
# minutes, is not always enough for BenchmarkDotNet to build its boilerplate project).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/BenchmarkDotNet.Artifacts/suite}"
mkdir -p "$out"
cd "$root"
uptime | tee "$out/load.txt"
bench/native/run.sh | tee "$out/native.txt"
selection=()
[ -n "${ENGINES:-}" ] && selection+=(--engines "$ENGINES")
[ -n "${WORKLOADS:-}" ] && selection+=(--workloads "$WORKLOADS")
dotnet run -c Release --project Ebpf.Bench -- --filter '*RunBenchmarks*' --job Short --exporters json --buildTimeout 900 \
  --artifacts "$out/bdn" "${selection[@]}"
uptime | tee -a "$out/load.txt"
python3 bench/report.py "$out/native.txt" "$out/bdn/results" | tee "$out/report.md"
