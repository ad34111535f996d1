#!/usr/bin/env bash
# Publishes Ebpf.AotSmoke with NativeAOT and runs it: configuration binding and validation, the interpreter and x64
# engines, timeouts. NativeAOT links with clang and zlib; on a Debian machine without them (as root) they are installed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang >/dev/null 2>&1 || [ ! -e /usr/include/zlib.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing clang and zlib1g-dev for NativeAOT"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang zlib1g-dev >/dev/null
  else
    echo "NativeAOT needs clang and zlib1g-dev (install them, or run as root on Debian)" >&2
    exit 1
  fi
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet publish Ebpf.AotSmoke -c Release -r linux-x64 -o "$out" -nologo -clp:ErrorsOnly
ls -l "$out/Ebpf.AotSmoke" | awk '{print "NativeAOT binary: " $5 " bytes"}'
"$out/Ebpf.AotSmoke"
