// SPDX-License-Identifier: MIT
/* Callbacks from XDP: bpf_loop over the first packet bytes, bpf_for_each_map_elem over an array and a hash map, and
 * bpf_loop's refusals (too many loops, flags). Every result goes to the array `results`:
 *   0: the sum of the first (at most 64) packet bytes, 1: bpf_loop's result for them,
 *   2: the sum of the `per_class` array's counts, 3: the elements bpf_for_each_map_elem visited (stopping at key 2),
 *   4: the sum of the `per_size` hash's values, 5: the entries visited, 6: bpf_loop with too many loops (-E2BIG),
 *   7: bpf_loop with flags (-EINVAL), 8: nested bpf_loop (3 x 4 calls). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 9);
	__type(key, __u32);
	__type(value, __s64);
} results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} per_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} per_size SEC(".maps");

struct byte_sum {
	void *data;
	void *data_end;
	__u64 sum;
};

struct totals {
	__u64 sum;
	__u64 visits;
};

static long add_byte(__u64 index, void *ctx)
{
	struct byte_sum *s = ctx;
	__u8 *p;

	if (index >= 64)
		return 1;
	p = s->data + index;
	if ((void *)(p + 1) > s->data_end)
		return 1;
	s->sum += *p;
	return 0;
}

static long add_count(void *map, __u32 *key, __u64 *value, void *ctx)
{
	struct totals *t = ctx;

	t->sum += *value;
	t->visits++;
	return *key == 2;
}

static long add_size(void *map, __u32 *key, __u64 *value, void *ctx)
{
	struct totals *t = ctx;

	t->sum += *key * 1000 + *value;
	t->visits++;
	*value += 1;
	return 0;
}

static long count_call(__u64 index, void *ctx)
{
	(*(__u64 *)ctx)++;
	return 0;
}

static long inner_loops(__u64 index, void *ctx)
{
	bpf_loop(4, count_call, ctx, 0);
	return 0;
}

static void put(__u32 slot, __s64 value)
{
	bpf_map_update_elem(&results, &slot, &value, BPF_ANY);
}

SEC("xdp")
int xdp_callbacks(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct byte_sum bytes = { data, data_end, 0 };
	struct totals totals = { 0, 0 };
	__u32 len = data_end - data, class = len & 3, size = len / 16;
	__u64 *count, one = 1, calls = 0;
	long r;

	r = bpf_loop(100, add_byte, &bytes, 0);
	put(0, bytes.sum);
	put(1, r);

	count = bpf_map_lookup_elem(&per_class, &class);
	if (count)
		*count += len;
	r = bpf_for_each_map_elem(&per_class, add_count, &totals, 0);
	put(2, totals.sum);
	put(3, r);

	count = bpf_map_lookup_elem(&per_size, &size);
	if (count)
		*count += 1;
	else
		bpf_map_update_elem(&per_size, &size, &one, BPF_NOEXIST);
	totals.sum = 0;
	totals.visits = 0;
	r = bpf_for_each_map_elem(&per_size, add_size, &totals, 0);
	put(4, totals.sum);
	put(5, r * 100 + totals.visits);

	put(6, bpf_loop(len << 20, count_call, &calls, 0));
	put(7, bpf_loop(1, count_call, &calls, len | 1));
	calls = 0;
	bpf_loop(3, inner_loops, &calls, 0);
	put(8, calls);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
