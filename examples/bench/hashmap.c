/* A hash-map lookup loop: looks up every u32 key of the buffer in a hash map (u32 -> u64) filled by the host and
 * sums the values found, counting 1 per missing key. The eBPF build declares the map in the legacy "maps" section
 * and calls the helper bpf_map_lookup_elem (id 1); the native build calls the driver's hash table instead. */
#include "workload.h"

#ifdef __bpf__
struct bpf_map_def {
    u32 type;
    u32 key_size;
    u32 value_size;
    u32 max_entries;
    u32 map_flags;
};

__attribute__((section("maps"), used)) struct bpf_map_def table = {
    .type = 1, /* BPF_MAP_TYPE_HASH */
    .key_size = sizeof(u32),
    .value_size = sizeof(u64),
    .max_entries = 1024,
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
#else
extern char table;
void *bench_map_lookup(void *map, const void *key);
#define bpf_map_lookup_elem bench_map_lookup
#endif

WORKLOAD(hashmap)
{
    const u32 *keys = (const u32 *)mem;
    u64 n = len / 4;
    u64 sum = 0;
    for (u64 i = 0; i < n; i++) {
        u32 key = keys[i];
        u64 *value = bpf_map_lookup_elem(&table, &key);
        sum += value ? *value : 1;
    }
    return sum;
}
