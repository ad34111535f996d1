// SPDX-License-Identifier: MIT
/* ringbuf_run OBJ.o PROG PACKET.bin: loads every program of OBJ (untyped sections as XDP), runs PROG once with
 * BPF_PROG_TEST_RUN on the packet, prints "retval=R size_out=N data_out=HEX duration_ns=D", then consumes every ring
 * buffer of the object and prints one line per record: "ringbuf NAME record=HEX". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static void hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static int on_record(void *ctx, void *data, size_t size)
{
	printf("ringbuf %s record=", (const char *)ctx);
	hex(data, size);
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char packet[65536], out[65536];
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	FILE *f;
	size_t len;

	if (argc != 4) {
		fprintf(stderr, "usage: ringbuf_run OBJ.o PROG PACKET.bin\n");
		return 1;
	}
	f = fopen(argv[3], "rb");
	if (!f)
		return 1;
	len = fread(packet, 1, sizeof(packet), f);
	fclose(f);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return 1;
	bpf_object__for_each_program(prog, obj)
		if (bpf_program__type(prog) == BPF_PROG_TYPE_UNSPEC)
			bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
	if (bpf_object__load(obj))
		return 1;
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog)
		return 1;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts)) {
		perror("error: BPF_PROG_TEST_RUN");
		return 2;
	}
	printf("retval=%u size_out=%u data_out=", opts.retval, opts.data_size_out);
	hex(out, opts.data_size_out);
	printf(" duration_ns=%u\n", opts.duration);
	bpf_object__for_each_map(map, obj) {
		struct ring_buffer *rb;

		if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
			continue;
		rb = ring_buffer__new(bpf_map__fd(map), on_record, (void *)bpf_map__name(map), NULL);
		if (!rb || ring_buffer__consume(rb) < 0)
			return 1;
		ring_buffer__free(rb);
	}
	bpf_object__close(obj);
	return 0;
}
