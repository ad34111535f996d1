using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Kernel;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Fuzzing;

/// <summary>
/// The kernel family of the campaign generator: XDP, tc and socket-filter programs run through
/// <see cref="KernelProgram"/> on a packet, compared between engines, with the verifier's proofs (under the type's
/// context layout) checked against the runs.
/// </summary>
public class KernelFamilyTests
{
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Kernel_programs_agree_with_the_interpreter_and_bear_out_the_verifier(string engine)
    {
        IExecutionEngine[] engines = engine == "interpreter" ? [TestEngines.Get(engine)] : [TestEngines.Get("interpreter"), TestEngines.Get(engine)];
        var result = new DifferentialCampaign(engines, GeneratedCases.Kernel(20261202, engines[0])) { Parallelism = 2 }.Run(160);
        Assert.True(result.IsClean, string.Join("\n\n", result.Findings.Select(f => $"{f.Kind} in program {f.Index}: {f.Message}\n{f.Description}")));

        // the family must reach verdicts, faults the checks stop, and packets the test run refuses
        Assert.True(result.Outcomes.GetValueOrDefault("result") > 80, string.Join(", ", result.Outcomes));
        Assert.True(result.Outcomes.GetValueOrDefault("MemoryAccessViolation") > 2, string.Join(", ", result.Outcomes));
        Assert.True(result.Outcomes.GetValueOrDefault("TestRunRefused") > 0, string.Join(", ", result.Outcomes));
        var kernel = result.Verifier!.Families["kernel"];
        Assert.Equal(160, kernel.Programs);
        Assert.True(kernel.Proven > 160 && kernel.Unknown > 0 && kernel.Refuted > 0 && kernel.StrictAccepted > 10, kernel.Summary);

        // the proven packet accesses ran under the packet-bounds oracle, and all stayed inside [data, data_end)
        Assert.True(result.Verifier.PacketPrograms > 20 && result.Verifier.PacketAccessesChecked > result.Verifier.PacketPrograms, result.Verifier.PacketSummary);
    }

    [Fact]
    public void The_family_has_every_type_and_the_kernel_shapes()
    {
        var generate = GeneratedCases.Kernel(7);
        var cases = Enumerable.Range(0, 400).Select(i => generate(i)).ToList();
        Assert.All(cases, c => Assert.Equal("kernel", c.Family));
        Assert.Equal(Enum.GetValues<KernelProgramType>(), cases.Select(c => c.KernelType!.Value).Distinct().Order());
        bool Calls(DifferentialCase c, uint id) => c.Program.Instructions.Any(s => s.OpCode == OpCodes.Call && s.Src == 0 && s.Imm == (int)id);
        foreach (uint helper in (uint[])[PacketHelpers.XdpAdjustHead, PacketHelpers.XdpAdjustTail, PacketHelpers.XdpAdjustMeta, PacketHelpers.SkbLoadBytes,
            PacketHelpers.SkbStoreBytes, PacketHelpers.SkbChangeTail, PacketHelpers.SkbChangeHead, PacketHelpers.SkbAdjustRoom, PacketHelpers.SkbVlanPush,
            PacketHelpers.SkbVlanPop, PacketHelpers.GetHashRecalc, PacketHelpers.Redirect, LinuxHelperIds.CsumDiff, LinuxHelperIds.MapLookupElem, LinuxHelperIds.TailCall])
        {
            Assert.Contains(cases, c => Calls(c, helper));
        }

        // a lookup without its null check, packet reads behind the end check, stores to writable context fields
        Assert.Contains(cases, c => Calls(c, LinuxHelperIds.MapLookupElem) && !c.Program.Instructions.Any(s => s.OpCode == OpCodes.JeqImm && s.Dst == 0));
        Assert.Contains(cases, c => c.Program.Instructions.Any(s => s.OpCode == OpCodes.JgtReg && s.Dst == 3 && s.Src == 8));
        Assert.Contains(cases, c => c.KernelType == KernelProgramType.SchedCls && c.Program.Instructions.Any(s => s.OpCode is OpCodes.StW or OpCodes.StxW && s.Dst == 6));
    }

    /// <summary>The engines with the types that have direct packet access (XDP and tc: Linux refuses data/data_end to socket filters).</summary>
    public static TheoryData<string, KernelProgramType> EnginesAndTypes()
    {
        var data = new TheoryData<string, KernelProgramType>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var type in new[] { KernelProgramType.Xdp, KernelProgramType.SchedCls })
            {
                data.Add(engine.Name, type);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_socket_filter_reads_the_packet_through_skb_load_bytes_or_is_refused_for_data(string engine)
    {
        var frame = Enumerable.Range(0, 76).Select(i => (byte)(0x30 + i)).ToArray();
        frame[12] = 0x08;
        frame[13] = 0x00;
        var environment = GeneratedEnvironments.Create().For(KernelProgramType.SocketFilter);
        var generated = ProgramGenerator.LowerKernel(KernelProgramType.SocketFilter, [new OpSpec(OpKind.EndCheckedLoad, 17, 0, 0, 12, 0, 0, 0)], frame);
        Assert.Contains(generated.Slots, s => s.OpCode == OpCodes.Call && s.Imm == (int)PacketHelpers.SkbLoadBytes);
        using (var program = KernelProgram.Load(EbpfProgram.Create(generated.Slots, StructuralOnlyVerifier.Instance), KernelProgramType.SocketFilter, environment, TestEngines.Get(engine)))
        {
            Assert.Equal(0, program.RewrittenLoads);
        }

        // variant 5 (one in 32) reads data anyway, which the load refuses as the kernel does
        var direct = ProgramGenerator.LowerKernel(KernelProgramType.SocketFilter, [new OpSpec(OpKind.CheckedLoad, 5, 0, 0, 12, 0, 0, 0)], frame);
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(EbpfProgram.Create(direct.Slots, StructuralOnlyVerifier.Instance), KernelProgramType.SocketFilter, environment, TestEngines.Get(engine)));
        Assert.Contains("invalid bpf_context access off=76 size=4", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(EnginesAndTypes))]
    public void A_bounds_checked_packet_read_returns_the_frames_bytes_or_is_skipped(string engine, KernelProgramType type)
    {
        // variant 17: exact (no slack), 2 bytes, checked as data + reach > data_end; offset 12 reads bytes 12-13, offset 60 bytes 60-61
        var frame = Enumerable.Range(0, 76).Select(i => (byte)(0x30 + i)).ToArray();
        frame[12] = 0x08;
        frame[13] = 0x00;
        const int start = 0;
        uint Read(int offset, byte[] packet)
        {
            var generated = ProgramGenerator.LowerKernel(type, [new OpSpec(OpKind.EndCheckedLoad, 17, 0, 0, offset, 0, 0, 0)], packet);
            var environment = GeneratedEnvironments.Create().For(type);
            using var program = KernelProgram.Load(EbpfProgram.Create(generated.Slots, StructuralOnlyVerifier.Instance), type, environment, TestEngines.Get(engine));
            Assert.Equal(2, program.RewrittenLoads);
            return program.TestRun(packet).ReturnValue;
        }

        Assert.Equal((uint)(frame[start + 12] | (frame[start + 13] << 8)), Read(12, frame));
        Assert.Equal((uint)(frame[start + 60] | (frame[start + 61] << 8)), Read(60, frame[..(start + 62)]));
        Assert.Equal(0u, Read(60, frame[..(start + 61)])); // one byte short: the read is skipped
    }
}
