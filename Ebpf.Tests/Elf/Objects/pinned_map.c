/* Test object: a map declared with libbpf's pinning attribute (LIBBPF_PIN_BY_NAME), which a test run ignores as
 * kern_run does by default (every run starts from a fresh, empty map; the kernel gave value 21 after 3 repeats).
 * Compiled with: clang -O2 -g -ffile-prefix-map="$PWD"=. -target bpf -I/usr/include/x86_64-linux-gnu -c pinned_map.c -o pinned_map.o */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counts SEC(".maps");

SEC("xdp")
int count_pinned(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&pinned_counts, &key);

	if (count)
		*count += 7;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
