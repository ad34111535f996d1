using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.Tests.Maps;
using Ebpf.Verification;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>
/// A map key the call's own basic block points at the current frame (<c>r2 = r10; r2 += k</c>, the key's bytes inside
/// the frame, as clang passes keys): x64's inline array and hash lookups leave out the helper's check of the key pointer,
/// since r10 is always the top of a valid frame. Any other way to the call keeps the check: a key that reaches above the
/// frame's top or below its bottom, a jump into the call from a path with another key, a key pointer made with a
/// register. The results (value, miss, memory error and its pc) are the interpreter's on every engine.
/// </summary>
public class OwnFrameKeyTests
{
    private const ulong Missing = MapLookupPrograms.Missing;
    private const int LookupPc = 7;

    /// <summary>The key (u32 from input[0]) at r10 + <paramref name="offset"/>; r2 made as <c>mov r2, r10; add r2, offset</c> right before the map's lddw.</summary>
    private static EbpfProgram KeyAt(short offset) => MapLookupPrograms.Lookup(
        I(OpCodes.LdxW, 3, 1, 0),
        I(OpCodes.StxW, 10, 3, (short)Math.Clamp((int)offset, -512, -4)),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, offset),
        I(OpCodes.Mov64Imm, 0, 0, 0, 0));

    /// <summary>As <see cref="KeyAt"/>(-4), but r2's offset comes from a register: the rule does not see it, the check stays.</summary>
    private static readonly EbpfProgram KeyThroughRegister = MapLookupPrograms.Lookup(
        I(OpCodes.LdxW, 3, 1, 0),
        I(OpCodes.StxW, 10, 3, -4),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Mov64Imm, 0, 0, 0, -4),
        I(OpCodes.Add64Reg, 2, 0));

    /// <summary>
    /// r2 = r10 (a key above the frame's top); when input[4] is not 0 the fall-through makes it r10 - 4; when it is 0 a
    /// jump skips that. Both paths meet at the map's lddw (a jump target: the call's basic block starts there, so the
    /// lookup is still compiled inline but the block does not place r2): the check must stay and stop the second path.
    /// </summary>
    private static readonly EbpfProgram JumpWithAnotherKey = Program(
        I(OpCodes.LdxW, 3, 1, 0),
        I(OpCodes.StxW, 10, 3, -4),
        I(OpCodes.LdxW, 4, 1, 4),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.JeqImm, 4, 0, 2, 0),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, -4),
        MapLookupPrograms.LoadMap,
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.JneImm, 0, 0, 2, 0),
        I(OpCodes.Mov64Imm, 0, 0, 0, (int)Missing),
        I(OpCodes.Exit),
        I(OpCodes.LdxDW, 0, 0, 0),
        I(OpCodes.Exit));

    private static readonly ExecutionOptions Structural = new() { Verification = VerificationMode.Structural };

    private static ulong ValueOf(uint key) => 500 + (key * 3);

    private static ProgramEnvironment Environment(bool hash)
    {
        var definition = new MapDefinition("m", hash ? BpfMapType.Hash : BpfMapType.Array, 4, 8, 8);
        BpfMap map = hash ? new HashMap(definition) : new ArrayMap(definition);
        for (uint k = 0; k < 8; k += hash ? 2u : 1u)
        {
            map.Update(BitConverter.GetBytes(k), BitConverter.GetBytes(ValueOf(k)));
        }

        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(map);
        return environment;
    }

    private static byte[] Input(uint key, uint flag = 1) => [.. BitConverter.GetBytes(key), .. BitConverter.GetBytes(flag)];

    public static TheoryData<string, bool> EnginesAndMaps()
    {
        var data = new TheoryData<string, bool>();
        foreach (var engine in TestEngines.All)
        {
            data.Add(engine.Name, false);
            data.Add(engine.Name, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EnginesAndMaps))]
    public void Keys_inside_the_frame_are_found_and_missed_as_on_the_interpreter(string engine, bool hash)
    {
        foreach (short offset in (short[])[-4, -8, -256, -512])
        {
            using var compiled = TestEngines.Get(engine).Compile(KeyAt(offset), Environment(hash));
            Assert.Equal(ValueOf(2), compiled.Run(Input(2)));
            Assert.Equal(hash ? Missing : ValueOf(3), compiled.Run(Input(3)));
            Assert.Equal(Missing, compiled.Run(Input(9)));
        }
    }

    [Theory]
    [MemberData(nameof(EnginesAndMaps))]
    public void A_key_reaching_past_the_frame_still_faults_at_the_call(string engine, bool hash)
    {
        // r10 - 2 (two bytes above the top), r10 + 0 and r10 - 514 (two bytes below the bottom of a 512-byte frame):
        // outside the frame, so the check stays and stops the run at the call. (The verifier refuses such a program at
        // load; structural verification lets it run to show the check.)
        foreach (short offset in (short[])[-2, 0, -514])
        {
            using var compiled = TestEngines.Get(engine).Compile(KeyAt(offset), Environment(hash), Structural);
            var error = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(Input(2)));
            Assert.Equal(LookupPc, error.Pc);
        }
    }

    [Theory]
    [MemberData(nameof(EnginesAndMaps))]
    public void A_jump_into_the_calls_block_with_another_key_keeps_the_check(string engine, bool hash)
    {
        using var compiled = TestEngines.Get(engine).Compile(JumpWithAnotherKey, Environment(hash), Structural);
        Assert.Equal(ValueOf(2), compiled.Run(Input(2, flag: 1)));
        var error = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(Input(2, flag: 0)));
        Assert.Equal(9, error.Pc);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_listing_has_no_key_check_where_the_block_places_the_key_in_the_frame(bool hash)
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // The check of a key pointer starts by taking the frame's top from it (sub rcx,rbp).
        Assert.DoesNotContain("sub     rcx,rbp", LookupListing(KeyAt(-4), hash), StringComparison.Ordinal);
        Assert.Contains("sub     rcx,rbp", LookupListing(KeyAt(-2), hash, Structural), StringComparison.Ordinal);
        Assert.Contains("sub     rcx,rbp", LookupListing(KeyThroughRegister, hash), StringComparison.Ordinal);
        Assert.Equal(ValueOf(2), Compile(KeyThroughRegister, hash).Run(Input(2)));
    }

    private static X64CompiledProgram Compile(EbpfProgram program, bool hash, ExecutionOptions? options = null) =>
        (X64CompiledProgram)new X64Engine().Compile(program, Environment(hash), options ?? new ExecutionOptions());

    private static string LookupListing(EbpfProgram program, bool hash, ExecutionOptions? options = null)
    {
        using var compiled = Compile(program, hash, options);
        return BranchShapeTests.Between(compiled.GetListing(), $"; pc {LookupPc}: call", $"; pc {LookupPc + 1}:");
    }
}
