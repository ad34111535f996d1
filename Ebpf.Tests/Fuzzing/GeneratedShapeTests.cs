using System.Globalization;
using Ebpf.Assembly;
using Ebpf.Fuzzing.Generation;
using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Fuzzing;

/// <summary>The kernel-style shapes of the campaign generator: what they compute on every engine, and that they occur.</summary>
public class GeneratedShapeTests
{
    private const string Lookup = "stw [r10-4], {0}\nlddw r1, map_by_idx {2}\nmov r2, r10\nadd r2, -4\ncall 1\njeq r0, 0, +1\nldxdw r0, [r0+{1}]\nexit";

    private static ulong Run(string engine, string asm, byte[] input, ProgramEnvironment? environment = null)
    {
        using var compiled = TestEngines.Get(engine).Compile(EbpfProgram.Create(Assembler.Assemble(asm), StructuralOnlyVerifier.Instance), environment ?? GeneratedEnvironment.Create(), TestPrograms.StructuralOnly);
        return compiled.Run(input);
    }

    private static string Format(string format, params object[] values) => string.Format(CultureInfo.InvariantCulture, format, values);

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_map_lookup_at_the_kernel_id_with_a_null_check_reads_the_value_or_gives_zero(string engine)
    {
        foreach (int map in new[] { GeneratedEnvironment.ValuesMap, GeneratedEnvironment.HashedMap, GeneratedEnvironment.RecentMap })
        {
            // The hash maps hold the array's keys and values, but key 1 (hashed) and key 2 (recent).
            Assert.Equal(map == GeneratedEnvironment.HashedMap ? 0UL : 0x0123456789abcdefUL * 2, Run(engine, Format(Lookup, 1, 8, map), []));
            Assert.Equal(map == GeneratedEnvironment.RecentMap ? 0UL : 0xfedcba9876543210UL ^ 2, Run(engine, Format(Lookup, 2, 0, map), []));
            Assert.Equal(0xfedcba9876543210UL ^ 3, Run(engine, Format(Lookup, 3, 0, map), []));
            Assert.Equal(0UL, Run(engine, Format(Lookup, 6, 0, map), []));
        }

        // Past the end of the array's last value (the hash maps' slots are in the order of insertion, not of the keys).
        var error = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, Format(Lookup, 3, 12, GeneratedEnvironment.ValuesMap), []));
        Assert.Equal(7, error.Pc);
    }

    [Fact]
    public void Generated_lookups_read_each_of_the_three_readable_maps_and_never_the_sink_or_the_tails()
    {
        // Programs update the sink concurrently and the tails hold programs: a lookup there would make outcomes differ
        // by thread or fail. The map is the lddw's right before the key pointer (mov r2, r10; add r2, -4; call 1).
        var environments = GeneratedEnvironments.Create();
        var looked = new HashSet<int>();
        foreach (var program in Enumerable.Range(0, 1500).Select(i => GeneratedCases.Create(7, i, environments).Program.Instructions))
        {
            for (int pc = 4; pc < program.Length; pc++)
            {
                if (program[pc].OpCode == Isa.OpCodes.Call && program[pc].Src == 0 && program[pc].Imm == (int)LinuxHelperIds.MapLookupElem
                    && program[pc - 4].OpCode == Isa.OpCodes.Lddw && program[pc - 4].Src == (byte)Isa.LddwSource.MapByIndex)
                {
                    looked.Add(program[pc - 4].Imm);
                }
            }
        }

        Assert.Equal([GeneratedEnvironment.ValuesMap, GeneratedEnvironment.HashedMap, GeneratedEnvironment.RecentMap], looked.Order());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_bounds_checked_packet_read_reads_only_inside_the_length(string engine)
    {
        const string checkedLoad = "mov r0, 7\nmov r3, {0}\njgt r3, r2, +1\nldxh r0, [r1+{1}]\nexit";
        byte[] packet = [0x10, 0x20, 0x30, 0x40];
        Assert.Equal(0x4030UL, Run(engine, Format(checkedLoad, 4, 2), packet));
        Assert.Equal(7UL, Run(engine, Format(checkedLoad, 5, 3), packet));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Tail_calls_reach_the_environments_targets_and_fall_through_empty_slots(string engine)
    {
        const string tailCall = "lddw r2, map_by_idx 0x2\nmov r3, {0}\ncall 12\nmov r0, 7\nexit";
        var environment = GeneratedEnvironment.Create(TestEngines.Get(engine));
        Assert.Equal(GeneratedEnvironment.TailResult, Run(engine, Format(tailCall, 0), [], environment));
        Assert.Equal(GeneratedEnvironment.TailResult + 1, Run(engine, Format(tailCall, 1), [], environment)); // 33 tail calls, then the last falls through
        Assert.Equal(7UL, Run(engine, Format(tailCall, 2), [], environment));
        Assert.Equal(7UL, Run(engine, Format(tailCall, 0), [])); // no targets without an engine
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Map_updates_reach_the_sink_and_return_the_kernels_codes(string engine)
    {
        const string update = "stdw [r10-16], 0x55\nstw [r10-4], {0}\nlddw r1, map_by_idx 0x1\nmov r2, r10\nadd r2, -4\nmov r3, r10\nadd r3, -16\nmov r4, {1}\ncall {2}\nexit";
        var environment = GeneratedEnvironment.Create();
        var sink = MapRegistry.For(environment).Maps[GeneratedEnvironment.SinkMap];
        Assert.Equal(0UL, Run(engine, Format(update, 2, 0, LinuxHelperIds.MapUpdateElem), [], environment));
        Assert.True(sink.TryLookup(2u, out ulong value));
        Assert.Equal(0x55UL, value);
        Assert.Equal(unchecked((ulong)-17), Run(engine, Format(update, 2, 1, LinuxHelperIds.MapUpdateElem), [], environment)); // BPF_NOEXIST: -EEXIST
        Assert.Equal(unchecked((ulong)-7), Run(engine, Format(update, 5, 0, LinuxHelperIds.MapUpdateElem), [], environment)); // past the end: -E2BIG
        Assert.Equal(unchecked((ulong)-22), Run(engine, Format(update, 1, 0, LinuxHelperIds.MapDeleteElem), [], environment)); // arrays: -EINVAL
    }

    [Fact]
    public void The_campaign_generates_every_kernel_shape_and_the_guarded_and_callback_families()
    {
        var environments = GeneratedEnvironments.Create();
        var programs = Enumerable.Range(0, 400).Select(i => GeneratedCases.Create(1, i, environments)).Where(c => c.KernelType is null).Select(c => c.Program.Instructions).ToList();
        bool Calls(IReadOnlyList<Isa.Instruction> p, uint id) => p.Any(s => s.OpCode == Isa.OpCodes.Call && s.Src == 0 && s.Imm == (int)id);
        Assert.Contains(programs, p => Calls(p, LinuxHelperIds.MapLookupElem) && p.Any(s => s.OpCode == Isa.OpCodes.JeqImm && s.Dst == 0 && s.Imm == 0));
        Assert.Contains(programs, p => Calls(p, LinuxHelperIds.MapUpdateElem));
        Assert.Contains(programs, p => Calls(p, LinuxHelperIds.MapDeleteElem));
        Assert.Contains(programs, p => Calls(p, LinuxHelperIds.TailCall));
        Assert.Contains(programs, p => Calls(p, GeneratedEnvironment.MixHelper));
        Assert.Contains(programs, p => p.Any(s => s.OpCode == Isa.OpCodes.JgtReg && s.Src == 2));
        Assert.Contains(programs, p => p.Any(s => s.OpCode == Isa.OpCodes.JgtReg && s.Dst == 3 && s.Src == 7)); // guarded: pointer versus end
        Assert.Contains(programs, p => p.Any(s => s.OpCode == Isa.OpCodes.Call && s.Src == 1)); // local calls
        Assert.Contains(programs, p => p.Any(s => s.OpCode == Isa.OpCodes.Ja32)); // gotol
        Assert.Contains(programs, p => Calls(p, LinuxHelperIds.Loop) && Calls(p, LinuxHelperIds.ForEachMapElem)); // callbacks
        Assert.DoesNotContain(programs, p => p.Any(s => s.OpCode == Isa.OpCodes.Call && s.Src == 0 && s.Imm is > 12 and < GeneratedEnvironment.MixHelper
            && s.Imm != (int)LinuxHelperIds.Loop && s.Imm != (int)LinuxHelperIds.ForEachMapElem));
    }
}
