#!/usr/bin/env bash
# Runs one coverage-guided fuzz campaign: fuzz/run.sh TARGET SECONDS
#   TARGET: decode | asm | elf | diff | kernel | pcap (see Ebpf.Fuzzing/FuzzTargets.cs)
# Needs afl++ (Debian: apt-get install -y afl++) and the .NET SDK; the SharpFuzz instrumenter comes from the
# repository's tool manifest (dotnet tool restore). Seeds: the bpf_conformance programs (read in place from
# EBPF_CONFORMANCE_DIR, default ../shared/bpf_conformance beside the repository) and examples/, converted to the
# target's format, plus the committed corpus fuzz/corpus/TARGET. Afterwards the queue is minimised with afl-cmin
# into fuzz/corpus/TARGET, the statistics are printed, and any crash is replayed to show the finding.
set -euo pipefail
target=${1:?usage: fuzz/run.sh TARGET SECONDS}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/fuzz/out"
bin="$out/bin"
conformance=${EBPF_CONFORMANCE_DIR:-$root/../shared/bpf_conformance}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v afl-fuzz >/dev/null || { echo "run.sh: afl-fuzz not found (apt-get install -y afl++)" >&2; exit 2; }

# Build once per run folder: publish the harness (plain, for seeds and replays), copy it and instrument the project's
# assemblies (and ELFSharp) in the copy. Delete fuzz/out/ after changing the code.
plain="$out/plain"
if [ ! -f "$bin/.instrumented" ]; then
  (cd "$root" && dotnet tool restore >/dev/null)
  rm -rf "$bin" "$plain"
  dotnet publish "$root/fuzz/Ebpf.Fuzz" -c Release -o "$plain" --nologo -v q
  cp -r "$plain" "$bin"
  for dll in Ebpf.Abstractions Ebpf Ebpf.Interpreter Ebpf.Il Ebpf.X64 ELFSharp; do
    (cd "$root" && dotnet tool run sharpfuzz "$bin/$dll.dll")
  done
  touch "$bin/.instrumented"
fi
harness=("$(command -v dotnet)" "$bin/Ebpf.Fuzz.dll" "$target")

work="$out/$target"
rm -rf "$work"
mkdir -p "$work/seeds"
dotnet "$plain/Ebpf.Fuzz.dll" seeds "$target" "$work/seeds" "$conformance/tests" "$root/examples"
if [ -d "$root/fuzz/corpus/$target" ]; then
  cp "$root/fuzz/corpus/$target"/* "$work/seeds/" 2>/dev/null || true
fi

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
dictionary=()
if [ -f "$root/fuzz/dictionaries/$target.dict" ]; then
  dictionary=(-x "$root/fuzz/dictionaries/$target.dict")
fi
afl-fuzz -V "$seconds" -t 10000 -m none "${dictionary[@]}" -i "$work/seeds" -o "$work/findings" -- "${harness[@]}" > "$work/afl.log" 2>&1 || {
  tail -n 30 "$work/afl.log" >&2
  exit 1
}

stats="$work/findings/default/fuzzer_stats"
get() { grep "^$1 " "$stats" | sed 's/.*: //'; }
echo "$target: $(get execs_done) executions in $(get run_time) s ($(get execs_per_sec) per second), corpus $(get corpus_count), edges $(get edges_found) ($(get bitmap_cvg) of the map), crashes $(get saved_crashes), hangs $(get saved_hangs)"

# Minimise the queue into the committed corpus (afl-cmin keeps one input per edge set).
rm -rf "$work/min"
if (cd "$work" && afl-cmin -t 10000 -m none -i "$work/findings/default/queue" -o "$work/min" -- "${harness[@]}") > "$work/cmin.log" 2>&1; then
  rm -rf "$root/fuzz/corpus/$target"
  mkdir -p "$root/fuzz/corpus/$target"
  for f in "$work/min"/*; do
    cp "$f" "$root/fuzz/corpus/$target/$(sha256sum "$f" | cut -c1-16)"
  done
  echo "$target: corpus minimised to $(ls "$root/fuzz/corpus/$target" | wc -l) inputs ($(du -sh "$root/fuzz/corpus/$target" | cut -f1)) in fuzz/corpus/$target"
else
  echo "$target: afl-cmin failed, corpus unchanged (see $work/cmin.log)" >&2
fi

crashes=("$work/findings/default/crashes"/id*)
if [ -e "${crashes[0]}" ]; then
  dotnet "$plain/Ebpf.Fuzz.dll" "$target" --replay "$work/findings/default/crashes" || true
  exit 1
fi
