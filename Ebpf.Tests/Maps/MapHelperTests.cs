using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Maps;

/// <summary>The Linux map helpers called by programs, with maps registered in an environment by hand.</summary>
public class MapHelperTests
{
    private static Instruction[] LoadMap(byte dst, int index) =>
        [new(OpCodes.Lddw, dst, (byte)LddwSource.MapByIndex, 0, index), new(0, 0, 0, 0, 0)];

    /// <summary>key (u32 at r10-8) = <paramref name="key"/>; r0 = lookup(map 0, key) ? *(u64*)r0 : 0xff.</summary>
    private static EbpfProgram LookupProgram(int key) => Program(
        I(OpCodes.StW, 10, 0, -8, key),
        LoadMap(1, 0),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, -8),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.JneImm, 0, 0, 2, 0),
        I(OpCodes.Mov64Imm, 0, 0, 0, 0xff),
        I(OpCodes.Exit),
        I(OpCodes.LdxDW, 0, 0, 0),
        I(OpCodes.Exit));

    /// <summary>r0 = update(map 0, key, value, flags) with key at r10-8 and value (u64) at r10-16.</summary>
    private static EbpfProgram UpdateProgram(int key, int value, int flags) => Program(
        I(OpCodes.StW, 10, 0, -8, key),
        I(OpCodes.StDW, 10, 0, -16, value),
        LoadMap(1, 0),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, -8),
        I(OpCodes.Mov64Reg, 3, 10),
        I(OpCodes.Add64Imm, 3, 0, 0, -16),
        I(OpCodes.Mov64Imm, 4, 0, 0, flags),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapUpdateElem),
        I(OpCodes.Exit));

    /// <summary>r0 = delete(map 0, key).</summary>
    private static EbpfProgram DeleteProgram(int key) => Program(
        I(OpCodes.StW, 10, 0, -8, key),
        LoadMap(1, 0),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, -8),
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapDeleteElem),
        I(OpCodes.Exit));

    private static ProgramEnvironment EnvironmentWith(BpfMap map)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        Assert.Equal(0, environment.AddMap(map));
        return environment;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Lookup_returns_a_pointer_to_the_value_or_null(string engine)
    {
        using var map = new HashMap("h", 4, 8, 4);
        var environment = EnvironmentWith(map);
        map.Update(7u, 0x1122334455667788UL);
        Assert.Equal(0x1122334455667788UL, Run(engine, LookupProgram(7), environment: environment));
        Assert.Equal(0xffUL, Run(engine, LookupProgram(8), environment: environment));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Update_and_delete_return_linux_error_numbers(string engine)
    {
        using var map = new HashMap("h", 4, 8, 2);
        var environment = EnvironmentWith(map);
        Assert.Equal(unchecked((ulong)-2L), Run(engine, UpdateProgram(1, 10, 2), environment: environment));
        Assert.Equal(0UL, Run(engine, UpdateProgram(1, 10, 1), environment: environment));
        Assert.Equal(unchecked((ulong)-17L), Run(engine, UpdateProgram(1, 11, 1), environment: environment));
        Assert.Equal(0UL, Run(engine, UpdateProgram(1, 12, 2), environment: environment));
        Assert.Equal(0UL, Run(engine, UpdateProgram(2, 20, 0), environment: environment));
        Assert.Equal(unchecked((ulong)-7L), Run(engine, UpdateProgram(3, 30, 0), environment: environment));
        Assert.Equal(unchecked((ulong)-22L), Run(engine, UpdateProgram(3, 30, 5), environment: environment));
        Assert.Equal(0UL, Run(engine, DeleteProgram(2), environment: environment));
        Assert.Equal(unchecked((ulong)-2L), Run(engine, DeleteProgram(2), environment: environment));

        Assert.Equal([new(1u, 12UL)], map.GetEntries<uint, ulong>());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Programs_write_map_values_through_the_returned_pointer(string engine)
    {
        using var map = new ArrayMap("a", 8, 2);
        var environment = EnvironmentWith(map);

        // lookup key 1, then *(u64 *)r0 = 42 and lock-add 8 to it.
        var program = Program(
            I(OpCodes.StW, 10, 0, -8, 1),
            LoadMap(1, 0),
            I(OpCodes.Mov64Reg, 2, 10),
            I(OpCodes.Add64Imm, 2, 0, 0, -8),
            I(OpCodes.Call, 0, 0, 0, 1),
            I(OpCodes.StDW, 0, 0, 0, 42),
            I(OpCodes.Mov64Imm, 1, 0, 0, 8),
            I(OpCodes.AtomicDW, 0, 1, 0, 0x00),
            I(OpCodes.Mov64Imm, 0, 0, 0, 0),
            I(OpCodes.Exit));
        Run(engine, program, environment: environment);
        Assert.True(map.TryLookup(1u, out ulong value));
        Assert.Equal(50UL, value);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Writing_a_read_only_map_value_is_a_memory_violation(string engine)
    {
        using var map = new ArrayMap(new MapDefinition(".rodata", BpfMapType.Array, 4, 8, 1, MapDefinition.ReadOnlyProgramFlag));
        var environment = EnvironmentWith(map);
        map.Update(0u, 99UL);
        var read = Program(
            new Instruction[] { new(OpCodes.Lddw, 1, (byte)LddwSource.MapValueByIndex, 0, 0), new(0, 0, 0, 0, 0) },
            I(OpCodes.LdxDW, 0, 1, 0),
            I(OpCodes.Exit));
        Assert.Equal(99UL, Run(engine, read, environment: environment));

        var write = Program(
            new Instruction[] { new(OpCodes.Lddw, 1, (byte)LddwSource.MapValueByIndex, 0, 0), new(0, 0, 0, 0, 4) },
            I(OpCodes.StW, 1, 0, 0, 1),
            I(OpCodes.Mov64Imm, 0, 0, 0, 0),
            I(OpCodes.Exit));
        var error = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, write, environment: environment, options: StructuralOnly));
        Assert.Equal(2, error.Pc);
        Assert.Equal(MemoryAccessKind.Write, error.Access);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_bad_key_pointer_is_a_memory_violation_at_the_call(string engine)
    {
        using var map = new HashMap("h", 4, 8, 2);
        var environment = EnvironmentWith(map);
        var program = Program(
            LoadMap(1, 0),
            I(OpCodes.Mov64Imm, 2, 0, 0, 0x1000),
            I(OpCodes.Call, 0, 0, 0, 1),
            I(OpCodes.Exit));
        var error = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, program, environment: environment));
        Assert.Equal(3, error.Pc);
        Assert.Equal(0x1000UL, error.Address);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_value_that_is_not_a_map_is_a_helper_error(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var program = Program(
            I(OpCodes.Mov64Imm, 1, 0, 0, 1234),
            I(OpCodes.Mov64Reg, 2, 10),
            I(OpCodes.Add64Imm, 2, 0, 0, -8),
            I(OpCodes.Call, 0, 0, 0, 1),
            I(OpCodes.Exit));
        var error = Assert.Throws<EbpfHelperException>(() => Run(engine, program, environment: environment, options: StructuralOnly));
        Assert.Equal(3, error.Pc);
        Assert.Contains("not a map", error.Message);
    }

    [Fact]
    public void Map_value_lddw_outside_the_value_or_of_a_hash_map_does_not_compile()
    {
        using var array = new ArrayMap("a", 8, 1);
        using var hash = new HashMap("h", 4, 8, 1);
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(array);
        environment.AddMap(hash);
        var beyond = Program(new Instruction[] { new(OpCodes.Lddw, 0, (byte)LddwSource.MapValueByIndex, 0, 0), new(0, 0, 0, 0, 8) }, I(OpCodes.Exit));
        var ofHash = Program(new Instruction[] { new(OpCodes.Lddw, 0, (byte)LddwSource.MapValueByIndex, 0, 1), new(0, 0, 0, 0, 0) }, I(OpCodes.Exit));
        var missing = Program(new Instruction[] { new(OpCodes.Lddw, 0, (byte)LddwSource.MapByFd, 0, 2), new(0, 0, 0, 0, 0) }, I(OpCodes.Exit));
        foreach (var engine in TestEngines.All)
        {
            Assert.Throws<EbpfCompilationException>(() => engine.Compile(beyond, environment));
            Assert.Throws<EbpfCompilationException>(() => engine.Compile(ofHash, environment));
            Assert.Throws<EbpfCompilationException>(() => engine.Compile(missing, environment));
        }
    }

    [Fact]
    public void Registry_hands_out_indices_and_handles()
    {
        using var a = new ArrayMap("a", 8, 1);
        using var b = new HashMap("b", 4, 4, 1);
        var environment = new ProgramEnvironment();
        Assert.Equal(0, environment.AddMap(a));
        Assert.Equal(1, environment.AddMap(b));
        Assert.Equal(1, environment.AddMap(b));
        var registry = MapRegistry.For(environment);
        Assert.Same(b, registry.FromHandle(MapRegistry.HandleOf(1)));
        Assert.Null(registry.FromHandle(MapRegistry.HandleOf(2)));
        Assert.Null(registry.FromHandle(MapRegistry.HandleOf(1) + 1));
        Assert.Null(registry.FromHandle(5));
        Assert.Same(a, registry.FindByName("a"));
        Assert.Contains(a.ValueRegion, environment.Regions);
        Assert.Contains(b.ValueRegion, environment.Regions);
    }
}
