#!/usr/bin/env bash
# Builds the native reference driver with clang -O2 from the same C sources as the eBPF workloads
# (examples/bench/*.c) and prints r0 and the median and minimum ns/run per workload (batches of calls through a
# function pointer, each batch at least MS milliseconds, so two-instruction workloads are timed over millions of
# calls). A measurement aid, not part of CI.
#
#   bench/native/run.sh            scalar build (-O2 without auto-vectorization: eBPF has no SIMD), the reference
#   bench/native/run.sh --vector   plain -O2 (auto-vectorized where clang can)
#   bench/native/run.sh --no-jump-tables   scalar, and switches as compare trees like the eBPF build (clang's BPF
#                                  target has no jump tables; a jump table over random input mispredicts every time)
#   MS=100 BATCHES=31 bench/native/run.sh   longer batches, more of them (defaults: 20 ms, 15 batches)
#   LIB=out.so bench/native/run.sh [...]   builds the same workloads and inputs as a shared library (exports
#                                  `workloads` and `workload_count`) instead of running them: Ebpf.Bench --suite
#                                  loads it and times native beside the engines in one process (bench/suite.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../examples/bench"
CLANG=${CLANG:-clang}
flags=(-O2 -fno-builtin -fno-vectorize -fno-slp-vectorize)
case "${1:-}" in
  --vector) flags=(-O2 -fno-builtin) ;;
  --no-jump-tables) flags+=(-fno-jump-tables) ;;
  "") ;;
  *) echo "usage: $0 [--vector | --no-jump-tables]" >&2; exit 2 ;;
esac
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
objs=()
for c in "$src"/*.c; do
  o="$out/$(basename "${c%.c}").o"
  "$CLANG" "${flags[@]}" ${LIB:+-fPIC} -c "$c" -o "$o"
  objs+=("$o")
done
if [ -n "${LIB:-}" ]; then
  "$CLANG" -O2 -fPIC -shared -I"$here" "$here/inputs.c" "${objs[@]}" -o "$LIB"
  echo "# clang: $("$CLANG" --version | head -n 1); flags: ${flags[*]}; library: $LIB"
  exit 0
fi
# The driver and the input generators are built without -fno-builtin; they are not measured.
"$CLANG" -O2 -I"$here" "$here/driver.c" "$here/inputs.c" "${objs[@]}" -o "$out/driver"
echo "# clang: $("$CLANG" --version | head -n 1); flags: ${flags[*]}"
"$out/driver" "${MS:-20}" "${BATCHES:-15}"
