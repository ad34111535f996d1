using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Maps;

/// <summary>
/// <c>bpf_map_lookup_elem</c> on a hash map (plain, per-CPU, LRU) whose <c>lddw</c> precedes the call (il and x64 call
/// the map's lookup directly, the interpreter calls the helper): the same value, null, per-CPU value, LRU order,
/// cancellation and memory error on every engine, with memory checks on and off and with helper argument checks off.
/// </summary>
public class DirectHashLookupTests
{
    private const ulong Missing = MapLookupPrograms.Missing;

    public static TheoryData<string, int> EnginesAndOptions() => MapLookupPrograms.EnginesAndOptions();

    private static ExecutionOptions Options(int which) => MapLookupPrograms.Options(which);

    /// <summary>The key pointer is the input itself (r2 = r1): the call is at pc 3.</summary>
    private static readonly EbpfProgram InputKey = MapLookupPrograms.Lookup(I(OpCodes.Mov64Reg, 2, 1));

    /// <summary>The key pointer is 0x1000 (no memory of the run): the call is at pc 3.</summary>
    private static readonly EbpfProgram WildKey = MapLookupPrograms.Lookup(I(OpCodes.Mov64Imm, 2, 0, 0, 0x1000));

    /// <summary>Looks key 1 up forever, storing 1 into input[0] after each lookup (call at pc 6, loop pcs 2-9).</summary>
    private static readonly EbpfProgram EndlessLookups = Program(
        I(OpCodes.Mov64Reg, 6, 1),
        I(OpCodes.StW, 10, 0, -4, 1),
        MapLookupPrograms.LoadMap,
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, -4),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.Mov64Imm, 7, 0, 0, 1),
        I(OpCodes.StxB, 6, 7, 0),
        I(OpCodes.Ja, 0, 0, -8, 0),
        I(OpCodes.Exit));

    private static ulong ValueOf(ulong key) => 1000 + (key * 7);

    /// <summary>A hash map of the type with keys 0-7 (u32, or u64 with <paramref name="keySize"/> 8), registered in a Linux environment.</summary>
    private static (HashMap Map, ProgramEnvironment Environment) HashEnvironment(
        BpfMapType type = BpfMapType.Hash, uint? cpu = null, int cpus = 1, uint keySize = 4, uint capacity = 16)
    {
        var map = new HashMap(new MapDefinition("h", type, keySize, 8, capacity) { PossibleCpus = cpus });
        for (ulong k = 0; k < 8 && k < capacity; k++)
        {
            var value = new byte[map.HostValueSize];
            for (int c = 0; c < map.Cpus; c++)
            {
                BitConverter.TryWriteBytes(value.AsSpan(c * 8), ValueOf(k) + ((ulong)c << 32));
            }

            Assert.Equal(MapStatus.Success, map.Update(Key(k, keySize), value));
        }

        var environment = LinuxHelpers.Register(new ProgramEnvironment(), new LinuxHelperOptions { ProcessorId = cpu });
        environment.AddMap(map);
        return (map, environment);
    }

    private static byte[] Key(ulong key, uint size) => size == 8 ? BitConverter.GetBytes(key) : BitConverter.GetBytes((uint)key);

    private static ulong Run(string engine, EbpfProgram program, ProgramEnvironment environment, int options, byte[] input)
    {
        using var compiled = TestEngines.Get(engine).Compile(program, environment, Options(options));
        return compiled.Run(input);
    }

    [Theory]
    [MemberData(nameof(EnginesAndOptions))]
    public void Present_keys_find_their_value_and_absent_keys_find_null(string engine, int options)
    {
        foreach (uint keySize in new uint[] { 4, 8 })
        {
            var (map, environment) = HashEnvironment(keySize: keySize);
            using (map)
            {
                foreach (var program in new[] { MapLookupPrograms.StackKey, InputKey })
                {
                    // StackKey copies a u32 key to the stack: only 4-byte keys.
                    if (keySize == 8 && program == MapLookupPrograms.StackKey)
                    {
                        continue;
                    }

                    Assert.Equal(ValueOf(0), Run(engine, program, environment, options, Key(0, keySize)));
                    Assert.Equal(ValueOf(7), Run(engine, program, environment, options, Key(7, keySize)));
                    Assert.Equal(Missing, Run(engine, program, environment, options, Key(8, keySize)));
                    Assert.Equal(Missing, Run(engine, program, environment, options, Key(uint.MaxValue, keySize)));
                }

                Assert.Equal(MapStatus.Success, map.Delete(Key(7, keySize)));
                Assert.Equal(Missing, Run(engine, InputKey, environment, options, Key(7, keySize)));
            }
        }
    }

    [Theory]
    [MemberData(nameof(EnginesAndOptions))]
    public void A_program_compiled_before_its_map_is_disposed_finds_nothing_after_it(string engine, int options)
    {
        var (map, environment) = HashEnvironment();
        using var compiled = TestEngines.Get(engine).Compile(MapLookupPrograms.StackKey, environment, Options(options));
        Assert.Equal(ValueOf(3), compiled.Run(BitConverter.GetBytes(3u)));
        map.Dispose();
        Assert.Equal(Missing, compiled.Run(BitConverter.GetBytes(3u)));
        Assert.Equal(Missing, compiled.Run(BitConverter.GetBytes(0u)));
    }

    [Theory]
    [MemberData(nameof(EnginesAndOptions))]
    public void A_program_sees_an_entry_the_host_adds_after_compilation_and_writes_reach_the_map(string engine, int options)
    {
        var (map, environment) = HashEnvironment();
        using (map)
        {
            using var compiled = TestEngines.Get(engine).Compile(MapLookupPrograms.StackKey, environment, Options(options));
            Assert.Equal(Missing, compiled.Run(BitConverter.GetBytes(9u)));
            Assert.Equal(MapStatus.Success, map.Update(9u, 4242UL));
            Assert.Equal(4242UL, compiled.Run(BitConverter.GetBytes(9u)));
        }
    }

    [Theory]
    [MemberData(nameof(EnginesAndOptions))]
    public void A_per_cpu_hash_gives_the_runs_cpus_value(string engine, int options)
    {
        var (map, environment) = HashEnvironment(BpfMapType.PerCpuHash, cpu: 2, cpus: 3);
        using (map)
        {
            Assert.Equal(ValueOf(5) + (2UL << 32), Run(engine, MapLookupPrograms.StackKey, environment, options, BitConverter.GetBytes(5u)));
            Assert.Equal(Missing, Run(engine, MapLookupPrograms.StackKey, environment, options, BitConverter.GetBytes(8u)));
        }

        var (other, beyond) = HashEnvironment(BpfMapType.LruPerCpuHash, cpu: 3, cpus: 3);
        using (other)
        {
            // CPU 3 is not one of the map's: nothing is found.
            Assert.Equal(Missing, Run(engine, MapLookupPrograms.StackKey, beyond, options, BitConverter.GetBytes(5u)));
        }
    }

    [Theory]
    [MemberData(nameof(EnginesAndOptions))]
    public void A_programs_lookup_in_an_lru_map_makes_its_entry_the_most_recently_used(string engine, int options)
    {
        // Keys 0-3 fill the map in that order; the program uses key 0, so the host's insertion of key 8 evicts key 1.
        var (map, environment) = HashEnvironment(BpfMapType.LruHash, capacity: 4);
        using (map)
        {
            Assert.Equal(ValueOf(0), Run(engine, MapLookupPrograms.StackKey, environment, options, BitConverter.GetBytes(0u)));
            Assert.Equal(Missing, Run(engine, MapLookupPrograms.StackKey, environment, options, BitConverter.GetBytes(8u)));
            Assert.Equal(MapStatus.Success, map.Update(8u, 1UL));
            Assert.Equal(new uint[] { 2, 3, 0, 8 }, map.KeysByAge().Select(k => BitConverter.ToUInt32(k)).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_key_outside_the_runs_memory_is_a_memory_error_at_the_call(string engine)
    {
        var (map, environment) = HashEnvironment();
        var (wide, wideEnvironment) = HashEnvironment(keySize: 8);
        using (map)
        using (wide)
        {
            foreach (int options in new[] { 0, 1 })
            {
                var error = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, WildKey, environment, options, new byte[8]));
                Assert.Equal(3, error.Pc);
                Assert.Equal(0x1000UL, error.Address);

                // An 8-byte key whose last 4 bytes lie beyond the 4-byte input: the whole key is checked.
                var partly = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, InputKey, wideEnvironment, options, new byte[4]));
                Assert.Equal(3, partly.Pc);
                Assert.Equal(8UL, partly.Size);
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task A_loop_of_lookups_stops_when_the_run_is_cancelled(string engine)
    {
        var (map, environment) = HashEnvironment();
        using (map)
        {
            using var compiled = TestEngines.Get(engine).Compile(EndlessLookups, environment);
            var e = await StoreThenCancel.Run(compiled);
            Assert.Contains(e.Pc, (int[])[2, 6, 9]); // the lookup, or the loop's jump or its target
        }
    }
}
