/* Test object for `ebpf bench`: a program whose result depends on the state earlier runs left. It counts its runs
 * twice, in global data (.bss) and in a one-entry array map, and returns 1,000 x the first count + the second: 1001 on
 * the first run of a freshly loaded object, 2002 on the second, and so on.
 * Compiled with: clang -O2 -target bpf -c run_counter.c -o run_counter.o */
typedef unsigned int __u32;
typedef unsigned long long __u64;

struct bpf_map_def {
    __u32 type;
    __u32 key_size;
    __u32 value_size;
    __u32 max_entries;
    __u32 map_flags;
};

/* A legacy map definition (section "maps"), so the object needs no BTF. */
__attribute__((section("maps"), used)) struct bpf_map_def hits = {
    .type = 2, /* BPF_MAP_TYPE_ARRAY */
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 1,
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

__u64 runs;

__attribute__((section("socket"), used))
int run_counter(void *data, __u64 len)
{
    __u32 key = 0;
    __u64 *hit = bpf_map_lookup_elem(&hits, &key);
    if (!hit)
        return -1;
    *hit += 1;
    runs += 1;
    return (int)(runs * 1000 + *hit);
}

char _license[] __attribute__((section("license"), used)) = "GPL";
