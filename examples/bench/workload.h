/* Shared definitions of the benchmark workloads.
 *
 * Every workload is one function over a memory buffer: mem = its address, len = its length (eBPF r1 and r2).
 * The sources are compiled twice: to eBPF (clang -target bpf, see build.sh) and natively (bench/native/run.sh).
 * Apart from hashmap (a map, loaded through the ELF loader) they use no maps and no globals, and call only helpers
 * by number (helper_calls) or static functions pc-relative (stack_array), so the eBPF build has no relocations and
 * its .text section alone is the program.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;

#define WORKLOAD(name) u64 bench_##name(u8 *mem, u64 len)
#define INLINE static inline __attribute__((always_inline))

#endif
