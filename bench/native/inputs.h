/* The deterministic inputs of the benchmark workloads. Mirrors Ebpf.Bench.Workloads/WorkloadInputs.cs byte for
 * byte: both sides must produce the same buffers (the expected results in the C# catalog come from this driver). */
#ifndef BENCH_INPUTS_H
#define BENCH_INPUTS_H

#include <stddef.h>

typedef unsigned long long (*workload_fn)(unsigned char *mem, unsigned long long len);

struct workload {
    const char *name;
    workload_fn run;
    size_t length;
    void (*fill)(unsigned char *mem, size_t len);
};

extern const struct workload workloads[];
extern const size_t workload_count;

#endif
