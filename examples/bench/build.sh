#!/usr/bin/env bash
# Rebuilds the eBPF objects (.o) and, for the workloads without maps, their raw program bytes (.bin, the .text
# section) from the C sources. Needs clang and llvm-objcopy (Debian/Ubuntu: apt-get install -y clang llvm).
# The outputs are committed. hashmap.o needs the ELF loader (map relocation), so it has no .bin.
set -euo pipefail
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
OBJCOPY=${OBJCOPY:-llvm-objcopy}
for src in *.c; do
  name=${src%.c}
  "$CLANG" -O2 -target bpf -mcpu=v3 -fno-builtin -c "$src" -o "$name.o"
  if [ "$name" != hashmap ]; then
    "$OBJCOPY" -O binary --only-section=.text "$name.o" "$name.bin"
  fi
done
ls -l ./*.o ./*.bin
