using System.Buffers.Binary;
using Ebpf.Analysis;
using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Elf;

/// <summary>
/// examples/kernel_maps.o (C against libbpf's headers) on every engine: each program uses one kernel map type. The
/// expected return values and map contents are what the Linux kernel of the development machine gave for the same
/// object with BPF_PROG_TEST_RUN (the kernel-oracle tool, pinned to CPU 0 unless said otherwise), recorded here.
/// </summary>
public class KernelMapsExampleTests
{
    private const ulong XdpPass = 2;

    private static ElfRuntime Runtime(uint cpu = 0, int possibleCpus = 2) =>
        ExampleFiles.Load("kernel_maps").CreateRuntime(new ElfRuntimeOptions
        {
            PossibleCpus = possibleCpus,
            Helpers = new LinuxHelperOptions { ProcessorId = cpu },
        });

    private static void SetInput(ElfRuntime runtime, uint first, uint second = 0)
    {
        var input = runtime.GetMap<ArrayMap>("input");
        Assert.Equal(MapStatus.Success, input.Update(0u, first));
        Assert.Equal(MapStatus.Success, input.Update(1u, second));
    }

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Per_cpu_maps_count_on_the_runs_cpu_only(string engine)
    {
        // Kernel, kern_run --cpu 1 --set-map input 00000000 07000000 --maps:
        //   cpu_stats key=00000000 cpu=0 value=0000000000000000 / cpu=1 value=0100000000000000
        //   cpu_stats key=01000000 cpu=0 value=0000000000000000 / cpu=1 value=0200000000000000
        //   cpu_counts key=07000000 cpu=0 value=0000000000000000 / cpu=1 value=0100000000000000
        using var runtime = Runtime(cpu: 1);
        using var program = runtime.Compile(TestEngines.Get(engine), "percpu_stats");
        SetInput(runtime, 7);
        Assert.Equal(XdpPass, program.Run(new byte[64]));

        var stats = runtime.GetMap<ArrayMap>("cpu_stats");
        Assert.Equal(2, stats.Cpus);
        Assert.Equal(16, stats.HostValueSize);
        Assert.Equal(Hex("00000000000000000100000000000000"), stats.Lookup(Hex("00000000")));
        Assert.Equal(Hex("00000000000000000200000000000000"), stats.Lookup(Hex("01000000")));
        var counts = runtime.GetMap<HashMap>("cpu_counts");
        Assert.Equal(Hex("00000000000000000100000000000000"), counts.Lookup(Hex("07000000")));

        // A second run on the same CPU counts on; the other CPU's values stay zero.
        Assert.Equal(XdpPass, program.Run(new byte[64]));
        Assert.Equal(2UL, BinaryPrimitives.ReadUInt64LittleEndian(stats.GetValueSpan(0, 1)));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(stats.GetValueSpan(0, 0)));
        Assert.Equal(Hex("00000000000000000200000000000000"), counts.Lookup(Hex("07000000")));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_lru_hash_evicts_the_least_recently_used_key(string engine)
    {
        // Kernel: retval=58, map recent holds keys 1, 3, 4, 5 (key 2 was evicted; key 1 survived because it was looked up).
        using var runtime = Runtime();
        using var program = runtime.Compile(TestEngines.Get(engine), "lru_order");
        Assert.Equal(58UL, program.Run(new byte[64]));
        var recent = runtime.GetMap<HashMap>("recent");
        Assert.Equal([1u, 3u, 4u, 5u], recent.GetEntries<uint, ulong>().Select(e => e.Key).Order().ToArray());

        // The final lookups of keys 1, 3, 4, 5 (in that order) leave 1 the least recently used.
        Assert.Equal([1u, 3u, 4u, 5u], recent.KeysByAge().Select(k => BinaryPrimitives.ReadUInt32LittleEndian(k)).ToArray());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_lpm_trie_returns_the_longest_matching_prefix(string engine)
    {
        // Kernel, with routes 10.255.0.0/8 -> 8 (given with bits after the prefix), 10.1.0.0/16 -> 16,
        // 10.1.2.0/24 -> 24, 10.1.2.3/32 -> 32: 10.1.2.3 -> 32, 10.1.2.4 -> 24, 10.1.3.3 -> 16, 10.2.0.1 -> 8,
        // 11.0.0.1 -> 0; the /8 entry is listed with the key bytes it was given (080000000aff0000).
        using var runtime = Runtime();
        using var program = runtime.Compile(TestEngines.Get(engine), "lpm_route");
        var routes = runtime.GetMap<LpmTrieMap>("routes");
        foreach (var (key, value) in new[] { ("080000000aff0000", 8u), ("100000000a010000", 16u), ("180000000a010200", 24u), ("200000000a010203", 32u) })
        {
            Assert.Equal(MapStatus.Success, routes.Update(Hex(key), BitConverter.GetBytes(value)));
        }

        foreach (var (address, expected) in new[] { ("0a010203", 32UL), ("0a010204", 24UL), ("0a010303", 16UL), ("0a020001", 8UL), ("0b000001", 0UL) })
        {
            SetInput(runtime, BinaryPrimitives.ReadUInt32LittleEndian(Hex(address)));
            Assert.Equal(expected, program.Run(new byte[64]));
        }

        Assert.Contains(routes.GetEntries(), e => e.Key.AsSpan().SequenceEqual(Hex("080000000aff0000")));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Queue_and_stack_push_pop_and_replace_the_oldest_when_full(string engine)
    {
        // Kernel: retval=4294899639 (as u32): -E2BIG * 10000 + queue pops 2, 3 + stack pops 4, 3.
        using var runtime = Runtime();
        using var program = runtime.Compile(TestEngines.Get(engine), "queue_sequence");
        Assert.Equal(4294899639u, (uint)program.Run(new byte[64]));
        var fifo = runtime.GetMap<QueueMap>("fifo");
        var lifo = runtime.GetMap<QueueMap>("lifo");
        Assert.Equal([4u], fifo.GetEntries().Select(e => BinaryPrimitives.ReadUInt32LittleEndian(e.Value)).ToArray());
        Assert.Equal([2u], lifo.GetEntries().Select(e => BinaryPrimitives.ReadUInt32LittleEndian(e.Value)).ToArray());

        // Values pushed from the host come out of the programs (and the other way round).
        using var push = runtime.Compile(TestEngines.Get(engine), "push_both");
        using var pop = runtime.Compile(TestEngines.Get(engine), "pop_both");
        SetInput(runtime, 7);
        Assert.Equal(0UL, push.Run(new byte[64]));
        Assert.Equal(4007UL, pop.Run(new byte[64]));
        Assert.Equal(7002UL, pop.Run(new byte[64]));
        Assert.Equal(999999UL, pop.Run(new byte[64]));
        Assert.Equal(MapStatus.Success, fifo.Push(BitConverter.GetBytes(5u)));
        Assert.Equal(5999UL, pop.Run(new byte[64]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Maps_of_maps_give_programs_their_inner_maps(string engine)
    {
        // Kernel (fresh maps each run): input 0 -> retval=11003 (inner_a = 1; outer_hash has no key 0);
        // input 1 -> retval=101 (inner_b = 1, inner_a = 100 through outer_hash[1]).
        foreach (var (index, expected, a, b) in new[] { (0u, 11003UL, 1u, 0u), (1u, 101UL, 100u, 1u) })
        {
            using var runtime = Runtime();
            using var program = runtime.Compile(TestEngines.Get(engine), "map_in_map");
            SetInput(runtime, index);
            Assert.Equal(expected, program.Run(new byte[64]));
            Assert.True(runtime.GetMap<ArrayMap>("inner_a").TryLookup(0u, out uint valueA));
            Assert.True(runtime.GetMap<ArrayMap>("inner_b").TryLookup(0u, out uint valueB));
            Assert.Equal((a, b), (valueA, valueB));
        }

        // The host swaps an inner map: the program then counts in the new one.
        using var swapped = Runtime();
        using var run = swapped.Compile(TestEngines.Get(engine), "map_in_map");
        var outer = swapped.GetMap<MapOfMaps>("outer_array");
        using var fresh = outer.CreateInnerMap("fresh");
        Assert.Equal(MapStatus.Success, outer.Set(0, fresh));
        SetInput(swapped, 0);
        Assert.Equal(11003UL, run.Run(new byte[64]));
        Assert.Equal(1u, fresh.Lookup(new byte[4])![0]);
        Assert.Equal(0, swapped.GetMap<ArrayMap>("inner_a").Lookup(new byte[4])![0]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Ring_buffer_records_reach_the_host_in_order(string engine)
    {
        // Kernel: retval=56: a 16-byte event (24 bytes with its header), "hello" (5 bytes: 16) and a discarded
        // 8-byte record (16) await the consumer.
        using var runtime = Runtime();
        using var program = runtime.Compile(TestEngines.Get(engine), "ringbuf_events");
        SetInput(runtime, 42);
        Assert.Equal(56UL, program.Run(new byte[64]));

        var events = runtime.GetMap<RingBufferMap>("events");
        var records = new List<byte[]>();
        Assert.Equal(2, events.Drain(r => records.Add(r.ToArray())));
        Assert.Equal(Hex("2a000000000000008877665544332211"), records[0]);
        Assert.Equal("hello"u8.ToArray(), records[1]);
        Assert.Equal(0UL, events.Query(0));
        Assert.Equal(56UL, events.ConsumerPosition);

        // Unconsumed, 73 runs fit in the 4096-byte ring (73 * 56 = 4088); the 74th finds it full (its first reservation fails: 1).
        for (ulong run = 1; run <= 73; run++)
        {
            Assert.Equal(56 * run, program.Run(new byte[64]));
        }

        Assert.Equal(1UL, program.Run(new byte[64]));
        Assert.Equal(146, events.Drain(_ => { }));
        Assert.Equal(56UL, program.Run(new byte[64]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_spin_lock_in_a_map_value_guards_a_counter(string engine)
    {
        // Kernel: retval=1 on fresh maps.
        using var runtime = Runtime();
        using var program = runtime.Compile(TestEngines.Get(engine), "locked_count");
        Assert.Equal(1UL, program.Run(new byte[64]));
        Parallel.For(0, 4, _ =>
        {
            for (int i = 0; i < 250; i++)
            {
                program.Run(new byte[64]);
            }
        });
        Assert.Equal(1002UL, program.Run(new byte[64]));
        var value = runtime.GetMap<ArrayMap>("counter").GetValueSpan(0);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(value));
        Assert.Equal(1002UL, BinaryPrimitives.ReadUInt64LittleEndian(value[8..]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_lru_program_counts_hits_across_runs(string engine)
    {
        using var runtime = Runtime();
        using var program = runtime.Compile(TestEngines.Get(engine), "lru_touch");
        var results = new List<ulong>();
        foreach (uint key in new uint[] { 1, 2, 1, 3, 4, 5, 1, 2 })
        {
            SetInput(runtime, key);
            results.Add(program.Run(new byte[64]));
        }

        // 5 evicts 2 (1 was used again after 2), so the last 2 is a miss again.
        Assert.Equal([0UL, 0, 2, 0, 0, 0, 3, 0], results);
    }

    [Fact]
    public void A_helper_this_library_lacks_is_a_load_error_naming_it()
    {
        // Patch the object's calls of bpf_get_smp_processor_id (call 8) into calls of bpf_get_current_pid_tgid (14).
        byte[] bytes = ExampleFiles.Bytes("kernel_maps");
        byte[] call8 = [0x85, 0, 0, 0, 8, 0, 0, 0];
        int patched = 0;
        for (int at = bytes.AsSpan().IndexOf(call8); at >= 0; at = bytes.AsSpan().IndexOf(call8))
        {
            bytes[at + 4] = 14;
            patched++;
        }

        Assert.True(patched > 0);
        using var runtime = ElfLoader.Load(bytes).CreateRuntime();
        var error = Assert.Throws<EbpfCompilationException>(() => runtime.Compile(TestEngines.All[0], "percpu_stats"));
        Assert.Contains("calls helper 14 (bpf_get_current_pid_tgid), which this library does not implement", error.Message);
    }

    [Fact]
    public void The_proving_verifier_accepts_every_program_in_hybrid_mode()
    {
        // Inner maps, ring-buffer records and popped values are known only at run time: those accesses stay unproven
        // (checked when the program runs), none is a definite error.
        using var runtime = Runtime();
        var verifier = new ProvingVerifier(VerificationMode.Hybrid, SafetyContext.For(runtime.Environment, ExecutionOptions.Default));
        foreach (var name in new[] { "percpu_stats", "lru_touch", "lru_order", "lpm_route", "push_both", "pop_both", "queue_sequence", "map_in_map", "ringbuf_events", "locked_count" })
        {
            Assert.NotNull(runtime.Object.GetProgram(name, verifier));
        }
    }

    [Fact]
    public void The_runs_cpu_must_be_one_of_the_possible_cpus()
    {
        var error = Assert.Throws<ArgumentException>(() => Runtime(cpu: 2, possibleCpus: 2));
        Assert.Contains("is not one of the 2 possible CPUs of per-CPU map 'cpu_stats'", error.Message);
        using var wide = Runtime(cpu: 5, possibleCpus: 8);
        Assert.Equal(8, wide.GetMap("cpu_stats").Cpus);
    }
}
