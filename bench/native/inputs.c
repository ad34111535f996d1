/* Input generators and the workload table of the native driver (see inputs.h). */
#include <string.h>
#include "inputs.h"

typedef unsigned long long u64;

#define DECLARE(name) u64 bench_##name(unsigned char *mem, u64 len)
DECLARE(prime);
DECLARE(memcpy);
DECLARE(strcmp);
DECLARE(log2);
DECLARE(switch);
DECLARE(straight);
DECLARE(checksum);
DECLARE(filter);
DECLARE(hashmap);
DECLARE(constant);
DECLARE(load_add);
DECLARE(stack_array);
DECLARE(helper_calls);

/* splitmix64 */
static u64 next(u64 *state)
{
    u64 z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void put64(unsigned char *p, u64 v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void fill_random(unsigned char *mem, size_t len, u64 seed)
{
    u64 s = seed;
    for (size_t i = 0; i < len; i++) {
        mem[i] = (unsigned char)next(&s);
    }
}

static void fill_prime(unsigned char *mem, size_t len)
{
    memset(mem, 0, len);
    put64(mem, 5000);
}

static void fill_memcpy(unsigned char *mem, size_t len)
{
    memset(mem, 0, len);
    fill_random(mem, len / 2, 1);
}

static void fill_strings(unsigned char *mem, size_t len)
{
    u64 s = 2;
    size_t half = len / 2;
    memset(mem, 0, len);
    for (size_t i = 0; i + 1 < half; i++) {
        mem[i] = (unsigned char)('a' + next(&s) % 26);
    }
    memcpy(mem + half, mem, half);
}

static void fill_strcmp_mismatch(unsigned char *mem, size_t len)
{
    fill_strings(mem, len);
    mem[len / 2 + 3] ^= 1;
}

/* strcmp_1m_early: two 1 MiB strings that differ one eighth of the way in (at index 131,072). */
static void fill_strcmp_early(unsigned char *mem, size_t len)
{
    fill_strings(mem, len);
    mem[len / 2 + len / 16] ^= 1;
}

static void fill_zero(unsigned char *mem, size_t len)
{
    memset(mem, 0, len);
}

static void fill_load_add(unsigned char *mem, size_t len)
{
    fill_random(mem, len, 11);
}

static void fill_stack_array(unsigned char *mem, size_t len)
{
    fill_random(mem, len, 12);
}

/* helper_calls: the trivial helper the eBPF build calls as helper 1 (the benchmark host registers the same function). */
u64 bench_trivial(u64 a, u64 b)
{
    return a * 3 + b;
}

static void fill_log2(unsigned char *mem, size_t len)
{
    u64 s = 3;
    for (size_t i = 0; i + 8 <= len; i += 8) {
        u64 r = next(&s);
        u64 shift = next(&s) & 63;
        put64(mem + i, (r >> shift) | 1);
    }
}

static void fill_switch(unsigned char *mem, size_t len)
{
    fill_random(mem, len, 4);
}

static void fill_straight(unsigned char *mem, size_t len)
{
    fill_random(mem, len, 5);
}

static void fill_checksum(unsigned char *mem, size_t len)
{
    fill_random(mem, len, 6);
    mem[0] = 0x45;
    mem[2] = (unsigned char)(len >> 8);
    mem[3] = (unsigned char)len;
    mem[9] = 6;
}

static void fill_filter(unsigned char *mem, size_t len)
{
    static const unsigned short ports[4] = { 80, 443, 22, 8080 };
    u64 s = 7;
    fill_random(mem, len, 8);
    for (size_t at = 0; at + 64 <= len; at += 64) {
        unsigned char *f = mem + at;
        u64 r = next(&s);
        size_t off = 12;
        if ((r & 7) == 0) {
            f[12] = 0x81;
            f[13] = 0x00;
            off = 16;
        }
        if (((r >> 3) & 7) == 0) {
            f[off] = 0x86;
            f[off + 1] = 0xdd;
        } else {
            f[off] = 0x08;
            f[off + 1] = 0x00;
        }
        unsigned char *ip = f + off + 2;
        ip[0] = ((r >> 6) & 15) == 0 ? 0x46 : 0x45;
        ip[6] = ((r >> 10) & 7) == 0 ? 0x20 : 0x40;
        ip[7] = 0;
        ip[9] = ((r >> 13) & 3) == 0 ? 17 : 6;
        ip[12] = ((r >> 15) & 3) == 0 ? 192 : 10;
        unsigned char *tcp = ip + (ip[0] & 15) * 4;
        unsigned short port = ports[(r >> 17) & 3];
        tcp[2] = (unsigned char)(port >> 8);
        tcp[3] = (unsigned char)port;
    }
}

/* hashmap: the map the host fills (keys 7i+1 -> 3k+1000000 for i < 512) as an open-addressing table, and
 * 1,024 keys to look up: about half present (7j+1), half absent (7j+2). */
#define MAP_ENTRIES 512
#define MAP_SLOTS 2048

struct map_slot {
    unsigned int used;
    unsigned int key;
    u64 value;
};

static struct map_slot map_slots[MAP_SLOTS];
char table;

static unsigned int map_hash(unsigned int key)
{
    return (key * 0x9E3779B1u) >> 21;
}

void *bench_map_lookup(void *map, const void *key)
{
    (void)map;
    unsigned int k = *(const unsigned int *)key;
    for (unsigned int i = map_hash(k);; i = (i + 1) & (MAP_SLOTS - 1)) {
        if (!map_slots[i].used) {
            return 0;
        }
        if (map_slots[i].key == k) {
            return &map_slots[i].value;
        }
    }
}

static void fill_hashmap(unsigned char *mem, size_t len)
{
    u64 s = 9;
    memset(map_slots, 0, sizeof(map_slots));
    for (unsigned int i = 0; i < MAP_ENTRIES; i++) {
        unsigned int k = i * 7 + 1;
        unsigned int slot = map_hash(k);
        while (map_slots[slot].used) {
            slot = (slot + 1) & (MAP_SLOTS - 1);
        }
        map_slots[slot].used = 1;
        map_slots[slot].key = k;
        map_slots[slot].value = (u64)k * 3 + 1000000;
    }
    for (size_t at = 0; at + 4 <= len; at += 4) {
        u64 r = next(&s);
        unsigned int key = (unsigned int)((r >> 1) % MAP_ENTRIES) * 7 + ((r & 1) ? 1 : 2);
        memcpy(mem + at, &key, 4);
    }
}

/* The same names, lengths and order as Ebpf.Bench.Workloads/WorkloadCatalog.cs. */
const struct workload workloads[] = {
    { "constant", bench_constant, 8, fill_zero },
    { "load_add", bench_load_add, 16, fill_load_add },
    { "straight", bench_straight, 32, fill_straight },
    { "strcmp_mismatch", bench_strcmp, 4096, fill_strcmp_mismatch },
    { "helper_calls", bench_helper_calls, 8, fill_zero },
    { "memcpy", bench_memcpy, 8192, fill_memcpy },
    { "memcpy_1m", bench_memcpy, 2 << 20, fill_memcpy },
    { "strcmp_equal", bench_strcmp, 4096, fill_strings },
    { "strcmp_1m_early", bench_strcmp, 2 << 20, fill_strcmp_early },
    { "strcmp_1m_equal", bench_strcmp, 2 << 20, fill_strings },
    { "log2", bench_log2, 8192, fill_log2 },
    { "stack_array", bench_stack_array, 4096, fill_stack_array },
    { "checksum", bench_checksum, 1500, fill_checksum },
    { "filter", bench_filter, 16384, fill_filter },
    { "switch", bench_switch, 4096, fill_switch },
    { "prime", bench_prime, 8, fill_prime },
    { "hashmap", bench_hashmap, 4096, fill_hashmap },
};

const size_t workload_count = sizeof(workloads) / sizeof(workloads[0]);
