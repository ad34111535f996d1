using System.Buffers.Binary;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.Tests.Maps;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>
/// An array lookup whose key the call's basic block stores as a constant into the frame (clang's
/// <c>r1 = k; *(u32 *)(r10 - 4) = r1; r2 = r10; r2 += -4</c>): x64 compiles it to a compare with the map's live entries
/// and a constant value address, without reading the key. Every other way the key's bytes can change before the call
/// keeps the read: a later store into them, a store through another register, a helper call, a store in an earlier
/// block that a jump can skip. The results are the interpreter's on every engine.
/// </summary>
public class ConstantKeyLookupTests
{
    private const ulong Missing = MapLookupPrograms.Missing;

    private static ulong ValueOf(uint key) => 700 + (key * 5);

    /// <summary>Array map 0: 8 entries of u64, entry k holding <see cref="ValueOf"/>(k).</summary>
    private static ProgramEnvironment Environment()
    {
        var map = new ArrayMap(new MapDefinition("m", BpfMapType.Array, 4, 8, 8));
        for (uint k = 0; k < 8; k++)
        {
            map.Update(BitConverter.GetBytes(k), BitConverter.GetBytes(ValueOf(k)));
        }

        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(map);
        return environment;
    }

    /// <summary><paramref name="keyStores"/>, then r2 = r10 - 4 and the lookup in the same block: the value or <see cref="Missing"/>.</summary>
    private static EbpfProgram Lookup(params object[] keyStores) =>
        MapLookupPrograms.Lookup([.. keyStores, I(OpCodes.Mov64Reg, 2, 10), I(OpCodes.Add64Imm, 2, 0, 0, -4)]);

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_constant_key_in_range_finds_its_entry_and_one_beyond_misses(string engine)
    {
        var environment = Environment();
        foreach (uint key in (uint[])[0, 2, 7])
        {
            using var immediate = TestEngines.Get(engine).Compile(Lookup(I(OpCodes.StW, 10, 0, -4, (int)key)), environment);
            using var register = TestEngines.Get(engine).Compile(
                Lookup(I(OpCodes.Mov64Imm, 1, 0, 0, (int)key), I(OpCodes.StxW, 10, 1, -4)), environment);
            Assert.Equal(ValueOf(key), immediate.Run([0]));
            Assert.Equal(ValueOf(key), register.Run([0]));
        }

        foreach (int key in (int[])[8, 1000, -1, int.MinValue])
        {
            using var beyond = TestEngines.Get(engine).Compile(Lookup(I(OpCodes.StW, 10, 0, -4, key)), environment);
            Assert.Equal(Missing, beyond.Run([0]));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_key_changed_after_its_constant_store_is_read_at_the_call(string engine)
    {
        var environment = Environment();

        // A byte store into the key's low byte: key 1 becomes 5.
        using var byteOver = TestEngines.Get(engine).Compile(
            Lookup(I(OpCodes.StW, 10, 0, -4, 1), I(OpCodes.StB, 10, 0, -4, 5)), environment);

        // An 8-byte store over the key's word (r10 - 8 .. r10): key 1 becomes 6 (the upper half of the u64).
        using var wordOver = TestEngines.Get(engine).Compile(
            Lookup(I(OpCodes.StW, 10, 0, -4, 1), I(OpCodes.Lddw, 3, 0, 0, 0), I(0, 0, 0, 0, 6), I(OpCodes.StxDW, 10, 3, -8)), environment);

        // A store through a copy of r10: key 1 becomes 3.
        using var aliased = TestEngines.Get(engine).Compile(
            Lookup(I(OpCodes.Mov64Reg, 3, 10), I(OpCodes.StW, 10, 0, -4, 1), I(OpCodes.StW, 3, 0, -4, 3)), environment);

        // The key's register changed before its store: r3 = 1, then r3 = the input's first byte (4).
        using var fromInput = TestEngines.Get(engine).Compile(
            Lookup(I(OpCodes.Mov64Imm, 3, 0, 0, 1), I(OpCodes.LdxB, 3, 1, 0), I(OpCodes.StxW, 10, 3, -4)), environment);

        Assert.Equal(ValueOf(5), byteOver.Run([0]));
        Assert.Equal(ValueOf(6), wordOver.Run([0]));
        Assert.Equal(ValueOf(3), aliased.Run([0]));
        Assert.Equal(ValueOf(4), fromInput.Run([4]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_key_stored_before_the_calls_block_is_read_at_the_call(string engine)
    {
        // Key 1, then key 7 on the fall-through only: a jump over the second store lands on the block that makes r2
        // and calls, so the block stores no key and the call reads whichever one the path left.
        using var compiled = TestEngines.Get(engine).Compile(
            MapLookupPrograms.Lookup(
                I(OpCodes.StW, 10, 0, -4, 1),
                I(OpCodes.LdxB, 4, 1, 0),
                I(OpCodes.JeqImm, 4, 0, 1, 0),
                I(OpCodes.StW, 10, 0, -4, 7),
                I(OpCodes.Mov64Reg, 2, 10),
                I(OpCodes.Add64Imm, 2, 0, 0, -4)),
            Environment());
        Assert.Equal(ValueOf(1), compiled.Run([0]));
        Assert.Equal(ValueOf(7), compiled.Run([1]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_key_a_helper_wrote_after_its_constant_store_is_read_at_the_call(string engine)
    {
        // Key 2 stored, then helper 97 writes 6 into the key's bytes (r1 = r10 - 4): the lookup finds entry 6.
        var environment = Environment();
        environment.Helpers.Set(new Helper(97, "set_key", (ctx, a1, _, _, _, _) =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ctx.GetMemory(a1, 4, MemoryAccessKind.Write), 6);
            return 0;
        }));
        using var compiled = TestEngines.Get(engine).Compile(
            Lookup(
                I(OpCodes.StW, 10, 0, -4, 2),
                I(OpCodes.Mov64Reg, 1, 10),
                I(OpCodes.Add64Imm, 1, 0, 0, -4),
                I(OpCodes.Call, 0, 0, 0, 97)),
            environment);
        Assert.Equal(ValueOf(6), compiled.Run([0]));
    }

    [Fact]
    public void The_listing_reads_no_key_where_the_block_stores_a_constant()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // The key is read as a 32-bit load from r2 (rsi): present with a key from the input, absent with a constant.
        Assert.DoesNotContain("mov     eax,[rsi]", Listing(Lookup(I(OpCodes.Mov64Imm, 1, 0, 0, 3), I(OpCodes.StxW, 10, 1, -4))), StringComparison.Ordinal);
        Assert.Contains("mov     eax,[rsi]", Listing(Lookup(I(OpCodes.LdxB, 3, 1, 0), I(OpCodes.StxW, 10, 3, -4))), StringComparison.Ordinal);
    }

    private static string Listing(EbpfProgram program)
    {
        using var compiled = (X64CompiledProgram)new X64Engine().Compile(program, Environment(), new ExecutionOptions());
        return compiled.GetListing();
    }
}
