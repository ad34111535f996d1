/*
 * The kernel map types a libbpf program declares with BTF, each used by one XDP program. Written against the
 * kernel's and libbpf's headers (linux/bpf.h, bpf/bpf_helpers.h), compiled with `clang -O2 -g -target bpf`.
 * The programs do not read their context: their input is the array map "input" (set it from the host), their
 * output the return value and the maps.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* input[0], input[1]: the arguments of the programs. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 2);
} input SEC(".maps");

static __always_inline __u32 arg(__u32 index)
{
    __u32 *value = bpf_map_lookup_elem(&input, &index);
    return value ? *value : 0;
}

/* Per-CPU statistics: [0] counts runs, [1] adds the run's CPU + 1. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2);
} cpu_stats SEC(".maps");

/* Per-CPU hash: key input[0] counts its runs. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 8);
} cpu_counts SEC(".maps");

SEC("xdp")
int percpu_stats(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *runs = bpf_map_lookup_elem(&cpu_stats, &key);
    if (!runs)
        return 0;
    *runs += 1;
    key = 1;
    __u64 *cpus = bpf_map_lookup_elem(&cpu_stats, &key);
    if (!cpus)
        return 0;
    *cpus += bpf_get_smp_processor_id() + 1;

    key = arg(0);
    __u64 *count = bpf_map_lookup_elem(&cpu_counts, &key);
    if (count) {
        *count += 1;
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&cpu_counts, &key, &one, BPF_NOEXIST);
    }
    return XDP_PASS;
}

/* LRU hash of 4 entries: key input[0]; a lookup hit counts, a miss inserts 1. Returns the count seen (0 on a miss). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} recent SEC(".maps");

SEC("xdp")
int lru_touch(struct xdp_md *ctx)
{
    __u32 key = arg(0);
    __u64 *seen = bpf_map_lookup_elem(&recent, &key);
    if (seen) {
        *seen += 1;
        return (int)*seen;
    }
    __u64 one = 1;
    bpf_map_update_elem(&recent, &key, &one, BPF_ANY);
    return 0;
}

/* In one run: inserts keys 1..4 into the (empty) LRU map, looks up 1, inserts 5; returns a mask of the keys present (bit k for key k). */
static __always_inline void lru_put(__u32 key)
{
    __u64 one = 1;
    bpf_map_update_elem(&recent, &key, &one, BPF_ANY);
}

static __always_inline int lru_bit(__u32 key)
{
    return bpf_map_lookup_elem(&recent, &key) ? 1 << key : 0;
}

SEC("xdp")
int lru_order(struct xdp_md *ctx)
{
    lru_put(1);
    lru_put(2);
    lru_put(3);
    lru_put(4);
    __u32 first = 1;
    bpf_map_lookup_elem(&recent, &first);
    lru_put(5);
    return lru_bit(1) | lru_bit(2) | lru_bit(3) | lru_bit(4) | lru_bit(5);
}

/* LPM trie of IPv4 prefixes: returns the value of the longest prefix matching the address input[0] (network order), or 0. */
struct ipv4_lpm_key {
    __u32 prefixlen;
    __u8 addr[4];
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __type(key, struct ipv4_lpm_key);
    __type(value, __u32);
    __uint(max_entries, 16);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

SEC("xdp")
int lpm_route(struct xdp_md *ctx)
{
    struct ipv4_lpm_key key = { .prefixlen = 32 };
    __u32 address = arg(0);
    __builtin_memcpy(key.addr, &address, 4);
    __u32 *route = bpf_map_lookup_elem(&routes, &key);
    return route ? (int)*route : 0;
}

/* A queue and a stack of 3 u32 values. */
struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __type(value, __u32);
    __uint(max_entries, 3);
} fifo SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK);
    __type(value, __u32);
    __uint(max_entries, 3);
} lifo SEC(".maps");

/* Pushes input[0] on both with flags input[1]; returns (queue result) * 1000 + (stack result), results negated errnos. */
SEC("xdp")
int push_both(struct xdp_md *ctx)
{
    __u32 value = arg(0);
    __u64 flags = arg(1);
    long q = bpf_map_push_elem(&fifo, &value, flags);
    long s = bpf_map_push_elem(&lifo, &value, flags);
    return (int)(-q * 1000 - s);
}

/* Pops one value from each: returns queue value * 1000 + stack value (a value of 999 means the pop failed). */
SEC("xdp")
int pop_both(struct xdp_md *ctx)
{
    __u32 q = 999, s = 999, peeked = 0;
    if (bpf_map_peek_elem(&fifo, &peeked) == 0 && bpf_map_pop_elem(&fifo, &q) == 0 && peeked != q)
        return -1;
    bpf_map_pop_elem(&lifo, &s);
    return (int)(q * 1000 + s);
}

/* In one run on empty maps: pushes 1, 2, 3; pushes 4 (-E2BIG: full), then 4 with BPF_EXIST (drops the oldest);
 * then pops twice from each. Returns q1 q2 s1 s2 as decimal digits, minus 10000 * (the errno of the failed push). */
static __always_inline long push(void *map, __u32 value, __u64 flags)
{
    return bpf_map_push_elem(map, &value, flags);
}

static __always_inline __u32 pop(void *map)
{
    __u32 value = 0;
    bpf_map_pop_elem(map, &value);
    return value;
}

SEC("xdp")
int queue_sequence(struct xdp_md *ctx)
{
    push(&fifo, 1, BPF_ANY);
    push(&lifo, 1, BPF_ANY);
    push(&fifo, 2, BPF_ANY);
    push(&lifo, 2, BPF_ANY);
    push(&fifo, 3, BPF_ANY);
    push(&lifo, 3, BPF_ANY);
    long full = push(&fifo, 4, BPF_ANY);
    push(&fifo, 4, BPF_EXIST);
    push(&lifo, 4, BPF_EXIST);
    __u32 q1 = pop(&fifo), q2 = pop(&fifo), s1 = pop(&lifo), s2 = pop(&lifo);
    return (int)(q1 * 1000 + q2 * 100 + s1 * 10 + s2 + full * 10000);
}

/* An array and a hash of maps whose inner maps are one-entry arrays. */
struct inner_array {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 1);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __type(key, __u32);
    __uint(max_entries, 2);
    __array(values, struct inner_array);
} outer_array SEC(".maps") = {
    .values = { [0] = &inner_a, [1] = &inner_b },
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __type(key, __u32);
    __uint(max_entries, 4);
    __array(values, struct inner_array);
} outer_hash SEC(".maps") = {
    .values = { [1] = &inner_a },
};

/* Adds 1 to the value of the inner map outer_array[input[0]] and 100 to that of outer_hash[input[0]]; returns the sum of both, or 1000 + which lookup failed. */
SEC("xdp")
int map_in_map(struct xdp_md *ctx)
{
    __u32 index = arg(0), zero = 0, sum = 0;
    void *inner = bpf_map_lookup_elem(&outer_array, &index);
    if (!inner)
        return 1001;
    __u32 *value = bpf_map_lookup_elem(inner, &zero);
    if (!value)
        return 1002;
    *value += 1;
    sum += *value;
    inner = bpf_map_lookup_elem(&outer_hash, &index);
    if (!inner)
        return 1003 + sum * 10000;
    value = bpf_map_lookup_elem(inner, &zero);
    if (!value)
        return 1004;
    *value += 100;
    return (int)(sum + *value);
}

/* A ring buffer of one page: a reserved event, a copied 5-byte record, a discarded record. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

struct event {
    __u32 seq;
    __u32 cpu;
    __u64 tag;
};

/* Returns the bytes of unconsumed data after writing (BPF_RB_AVAIL_DATA), or 1 when the ring is full. */
SEC("xdp")
int ringbuf_events(struct xdp_md *ctx)
{
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 1;
    e->seq = arg(0);
    e->cpu = bpf_get_smp_processor_id();
    e->tag = 0x1122334455667788ULL;
    bpf_ringbuf_submit(e, 0);

    char note[5] = { 'h', 'e', 'l', 'l', 'o' };
    if (bpf_ringbuf_output(&events, note, sizeof(note), 0) != 0)
        return 1;

    __u64 *dropped = bpf_ringbuf_reserve(&events, 8, 0);
    if (!dropped)
        return 1;
    *dropped = 0;
    bpf_ringbuf_discard(dropped, 0);
    return (int)bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
}

/* A counter guarded by a spin lock in the map value. Returns the count after the increment. */
struct locked_counter {
    struct bpf_spin_lock lock;
    __u64 count;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct locked_counter);
    __uint(max_entries, 1);
} counter SEC(".maps");

SEC("xdp")
int locked_count(struct xdp_md *ctx)
{
    __u32 zero = 0;
    struct locked_counter *c = bpf_map_lookup_elem(&counter, &zero);
    if (!c)
        return 0;
    bpf_spin_lock(&c->lock);
    __u64 now = ++c->count;
    bpf_spin_unlock(&c->lock);
    return (int)now;
}

char LICENSE[] SEC("license") = "GPL";
