/* The native reference: runs every workload (compiled natively from the C sources in examples/bench) on the same inputs as
 * Ebpf.Bench and prints r0 and the time per run. Usage: driver [min-milliseconds-per-sample] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "inputs.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double sample(const struct workload *w, unsigned char *mem, unsigned long long runs)
{
    workload_fn volatile fn = w->run;
    double start = now_ns();
    for (unsigned long long i = 0; i < runs; i++) {
        __asm__ volatile("" ::: "memory");
        unsigned long long r = fn(mem, w->length);
        __asm__ volatile("" : : "r"(r) : "memory");
    }
    return now_ns() - start;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    double min_ns = (argc > 1 ? atof(argv[1]) : 100.0) * 1e6;
    enum { SAMPLES = 7 };
    printf("%-16s %20s %12s\n", "workload", "r0", "ns/run");
    for (size_t k = 0; k < workload_count; k++) {
        const struct workload *w = &workloads[k];
        unsigned char *mem = aligned_alloc(64, (w->length + 63) / 64 * 64);
        w->fill(mem, w->length);
        unsigned long long r0 = w->run(mem, w->length);
        unsigned long long runs = 1;
        while (sample(w, mem, runs) < min_ns / 10) {
            runs *= 2;
        }
        runs *= 10;
        double ns[SAMPLES];
        for (int s = 0; s < SAMPLES; s++) {
            ns[s] = sample(w, mem, runs) / (double)runs;
        }
        qsort(ns, SAMPLES, sizeof(double), compare);
        printf("%-16s %20llu %12.2f\n", w->name, r0, ns[SAMPLES / 2]);
        free(mem);
    }
    return 0;
}
