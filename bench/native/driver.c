/* The native reference: runs every workload (compiled natively from the C sources in examples/bench) on the same
 * inputs as Ebpf.Bench and prints r0 and the time per run.
 *
 * Each workload's input is prepared once. A batch calls the workload through a function pointer many times in a
 * loop (the pointer is re-read on every call, so nothing is hoisted or inlined, and the result is kept); the runs per
 * batch are doubled until a batch lasts at least the target time, so even a two-instruction function is timed over
 * millions of calls. The minimum and the median of the batches are printed, in nanoseconds per call; they include the
 * indirect call and the loop (about a nanosecond: the "constant" workload is exactly that).
 *
 * Usage: driver [milliseconds-per-batch (default 20)] [batches (default 15)] */
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

/* Nanoseconds taken by `runs` calls. */
static double batch(const struct workload *w, unsigned char *mem, unsigned long long runs)
{
    workload_fn volatile fn = w->run;
    unsigned long long len = w->length;
    double start = now_ns();
    for (unsigned long long i = 0; i < runs; i++) {
        unsigned long long r = fn(mem, len);
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
    double target_ns = (argc > 1 ? atof(argv[1]) : 20.0) * 1e6;
    int batches = argc > 2 ? atoi(argv[2]) : 15;
    if (target_ns <= 0 || batches < 1 || batches > 1000) {
        fprintf(stderr, "usage: %s [milliseconds-per-batch > 0] [batches 1..1000]\n", argv[0]);
        return 2;
    }
    double *ns = malloc(sizeof(double) * (size_t)batches);
    printf("# median and min of %d batches of at least %.0f ms each; ns per call through a function pointer\n", batches, target_ns / 1e6);
    printf("%-20s %20s %12s %12s %12s\n", "workload", "r0", "median-ns", "min-ns", "runs/batch");
    for (size_t k = 0; k < workload_count; k++) {
        const struct workload *w = &workloads[k];
        unsigned char *mem = aligned_alloc(64, (w->length + 63) / 64 * 64);
        w->fill(mem, w->length);
        unsigned long long r0 = w->run(mem, w->length);
        unsigned long long runs = 1;
        while (batch(w, mem, runs) < target_ns && runs < (1ULL << 40)) {
            runs *= 2;
        }
        for (int b = 0; b < batches; b++) {
            ns[b] = batch(w, mem, runs) / (double)runs;
        }
        qsort(ns, (size_t)batches, sizeof(double), compare);
        printf("%-20s %20llu %12.3f %12.3f %12llu\n", w->name, r0, ns[batches / 2], ns[0], runs);
        fflush(stdout);
        free(mem);
    }
    free(ns);
    return 0;
}
