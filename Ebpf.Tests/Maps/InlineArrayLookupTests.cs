using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Maps;

/// <summary>
/// <c>bpf_map_lookup_elem</c> on an array map whose <c>lddw</c> precedes the call (compiled inline by il and x64,
/// called by the interpreter): the same value, null, per-CPU value and memory error on every engine, with memory checks
/// on and off and with helper argument checks off.
/// </summary>
public class InlineArrayLookupTests
{
    private const ulong Missing = MapLookupPrograms.Missing;

    public static TheoryData<string, int> EnginesAndOptions() => MapLookupPrograms.EnginesAndOptions();

    private static ExecutionOptions Options(int which) => MapLookupPrograms.Options(which);

    private static readonly Instruction[] LoadMap = MapLookupPrograms.LoadMap;

    private static readonly EbpfProgram StackKey = MapLookupPrograms.StackKey;

    /// <summary>The key pointer is the input itself (r2 = r1).</summary>
    private static readonly EbpfProgram InputKey = MapLookupPrograms.Lookup(I(OpCodes.Mov64Reg, 2, 1));

    /// <summary>The key pointer is 0x1000 (no memory of the run).</summary>
    private static readonly EbpfProgram WildKey = Program(
        I(OpCodes.Mov64Imm, 2, 0, 0, 0x1000),
        LoadMap,
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.Exit));

    /// <summary>Adds 5 to the value of key 3 through the pointer; r0 = 1 when found.</summary>
    private static readonly EbpfProgram AddThroughPointer = Program(
        I(OpCodes.StW, 10, 0, -4, 3),
        LoadMap,
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, -4),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.JeqImm, 0, 0, 4, 0),
        I(OpCodes.LdxDW, 1, 0, 0),
        I(OpCodes.Add64Imm, 1, 0, 0, 5),
        I(OpCodes.StxDW, 0, 1, 0),
        I(OpCodes.Mov64Imm, 0, 0, 0, 1),
        I(OpCodes.Exit));

    /// <summary>The map reaches r1 through r6 and a jump lands between the load and the call (not inlined: the call runs).</summary>
    private static readonly EbpfProgram MapThroughJump = Program(
        I(OpCodes.StW, 10, 0, -4, 2),
        new Instruction[] { new(OpCodes.Lddw, 6, (byte)LddwSource.MapByIndex, 0, 0), new(0, 0, 0, 0, 0) },
        I(OpCodes.Ja, 0, 0, 0, 0),
        I(OpCodes.Mov64Reg, 1, 6),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, -4),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.LdxDW, 0, 0, 0),
        I(OpCodes.Exit));

    private static ulong ValueOf(uint key) => 1000 + (key * 7);

    private static (ArrayMap Map, ProgramEnvironment Environment) ArrayEnvironment(uint? cpu = null, int cpus = 1, bool perCpu = false)
    {
        var map = new ArrayMap(new MapDefinition("a", perCpu ? BpfMapType.PerCpuArray : BpfMapType.Array, 4, 8, 8) { PossibleCpus = cpus });
        for (uint k = 0; k < 8; k++)
        {
            var value = new byte[map.HostValueSize];
            for (int c = 0; c < map.Cpus; c++)
            {
                BitConverter.TryWriteBytes(value.AsSpan(c * 8), ValueOf(k) + ((ulong)c << 32));
            }

            map.Update(BitConverter.GetBytes(k), value);
        }

        var environment = LinuxHelpers.Register(new ProgramEnvironment(), new LinuxHelperOptions { ProcessorId = cpu });
        environment.AddMap(map);
        return (map, environment);
    }

    private static ulong Run(string engine, EbpfProgram program, ProgramEnvironment environment, int options, uint key)
    {
        using var compiled = TestEngines.Get(engine).Compile(program, environment, Options(options));
        return compiled.Run(BitConverter.GetBytes(key));
    }

    [Theory]
    [MemberData(nameof(EnginesAndOptions))]
    public void Keys_in_range_find_their_value_and_keys_beyond_find_null(string engine, int options)
    {
        var (map, environment) = ArrayEnvironment();
        using (map)
        {
            foreach (var program in new[] { StackKey, InputKey })
            {
                Assert.Equal(ValueOf(0), Run(engine, program, environment, options, 0));
                Assert.Equal(ValueOf(7), Run(engine, program, environment, options, 7));
                Assert.Equal(Missing, Run(engine, program, environment, options, 8));
                Assert.Equal(Missing, Run(engine, program, environment, options, 0x8000_0000));
                Assert.Equal(Missing, Run(engine, program, environment, options, uint.MaxValue));
            }
        }
    }

    [Theory]
    [MemberData(nameof(EnginesAndOptions))]
    public void A_program_compiled_before_its_map_is_disposed_finds_nothing_after_it(string engine, int options)
    {
        // The helper finds nothing in a disposed map; the inline code of il and x64 must agree (it reads the map's live
        // entry count, which Dispose sets to 0, instead of a bound fixed at compile time).
        var (map, environment) = ArrayEnvironment();
        using var compiled = TestEngines.Get(engine).Compile(StackKey, environment, Options(options));
        Assert.Equal(ValueOf(3), compiled.Run(BitConverter.GetBytes(3u)));
        map.Dispose();
        Assert.Equal(Missing, compiled.Run(BitConverter.GetBytes(3u)));
        Assert.Equal(Missing, compiled.Run(BitConverter.GetBytes(0u)));
    }

    [Theory]
    [MemberData(nameof(EnginesAndOptions))]
    public void A_per_cpu_array_gives_the_runs_cpus_value(string engine, int options)
    {
        var (map, environment) = ArrayEnvironment(cpu: 2, cpus: 3, perCpu: true);
        using (map)
        {
            Assert.Equal(ValueOf(5) + (2UL << 32), Run(engine, StackKey, environment, options, 5));
            Assert.Equal(Missing, Run(engine, StackKey, environment, options, 8));
        }

        var (other, beyond) = ArrayEnvironment(cpu: 3, cpus: 3, perCpu: true);
        using (other)
        {
            // CPU 3 is not one of the map's: nothing is found.
            Assert.Equal(Missing, Run(engine, StackKey, beyond, options, 5));
        }
    }

    [Theory]
    [MemberData(nameof(EnginesAndOptions))]
    public void Writes_through_the_pointer_reach_the_map(string engine, int options)
    {
        var (map, environment) = ArrayEnvironment();
        using (map)
        {
            Assert.Equal(1UL, Run(engine, AddThroughPointer, environment, options, 0));
            Assert.True(map.TryLookup(3u, out ulong value));
            Assert.Equal(ValueOf(3) + 5, value);
            Assert.Equal(ValueOf(2), Run(engine, MapThroughJump, environment, options, 0));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_key_pointer_outside_the_runs_memory_is_a_memory_error_at_the_call(string engine)
    {
        var (map, environment) = ArrayEnvironment();
        using (map)
        {
            foreach (int options in new[] { 0, 1 })
            {
                var error = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, WildKey, environment, options, 0));
                Assert.Equal(3, error.Pc);
                Assert.Equal(0x1000UL, error.Address);
            }
        }
    }
}
