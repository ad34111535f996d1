using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Maps;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// Rules the kernel's verifier enforces at load, which the analysis finds (<see cref="SafetyAnalysis.LoadRefusals"/>)
/// and <see cref="KernelProgram.Load(EbpfProgram, KernelProgramType, ProgramEnvironment, IExecutionEngine, ExecutionOptions?, IVerifier?)"/>
/// refuses with <see cref="EbpfTestRunException"/>. What Linux 6.18 said (kern_run, 2026-12-02): a socket filter that
/// reads <c>skb-&gt;data</c> is refused with "invalid bpf_context access off=76 size=4" (so are <c>tstamp</c>,
/// <c>wire_len</c>, <c>tc_classid</c>, <c>hwtstamp</c>); a callback context that is not the stack nor NULL with
/// "R3 type=ctx expected=fp"; a tail call while owning a ring buffer record with "tail_call would lead to reference
/// leak"; an exit while owning one with "Unreleased reference".
/// </summary>
public sealed class KernelLoadRuleTests : IDisposable
{
    private readonly RingBufferMap ring = new("events", 4096);

    public void Dispose() => ring.Dispose();

    private ProgramEnvironment Environment()
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(ring);
        environment.AddMap(new ProgramArrayMap("jumps", 2));
        return environment;
    }

    private static EbpfProgram Program(string source, string name = "rule") =>
        EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance, name);

    private EbpfTestRunException Refused(string source, KernelProgramType type, string engine) =>
        Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(Program(source), type, Environment(), TestEngines.Get(engine)));

    private void Loads(string source, KernelProgramType type, string engine)
    {
        using var program = KernelProgram.Load(Program(source), type, Environment(), TestEngines.Get(engine));
        Assert.NotNull(program);
    }

    /// <summary>Reserves 16 bytes of ring 0; when that worked, <paramref name="middle"/>, then submits the record; returns XDP_PASS.</summary>
    private static string Reserve(string middle) => $"""
        mov r6, r1
        lddw r1, map_by_idx 0
        mov r2, 16
        mov r3, 0
        call 131
        jeq r0, 0, none
        mov r7, r0
        {middle}
        mov r1, r7
        mov r2, 0
        call 132
        none:
        mov r0, 2
        exit
        """;

    private const string TailCall = "mov r1, r6\nlddw r2, map_by_idx 1\nmov r3, 0\ncall 12";

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_tail_call_while_a_ring_buffer_record_is_owned_is_refused_at_load(string engine)
    {
        var analysis = Program(Reserve(TailCall)).Analysis.Safety(KernelProgram.AnalysisContext(Environment(), KernelProgramType.Xdp));
        var refusal = Assert.Single(analysis.LoadRefusals);
        Assert.Equal(12, refusal.Pc);
        Assert.Contains(refusal, analysis.Unproven);
        var error = Refused(Reserve(TailCall), KernelProgramType.Xdp, engine);
        Assert.Contains("at pc 12", error.Message, StringComparison.Ordinal);
        Assert.Contains("reserved at pc 5 may still be owned", error.Message, StringComparison.Ordinal);
        Assert.Contains("tail_call would lead to reference leak", error.Message, StringComparison.Ordinal);

        // a tail call after the submit (or on the null path) loads; so does one after a discard
        Loads(Reserve("mov r0, 0").Replace("none:\n", "none:\n" + TailCall + "\n", StringComparison.Ordinal), KernelProgramType.Xdp, engine);
        Loads(Reserve("mov r1, r7\nmov r2, 0\ncall 133\nmov r7, 0\n" + TailCall).Replace("mov r1, r7\nmov r2, 0\ncall 132\nnone:", "none:", StringComparison.Ordinal), KernelProgramType.Xdp, engine);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_exit_while_a_ring_buffer_record_is_owned_is_refused_at_load(string engine)
    {
        string leak = Reserve("mov r0, 2\nexit");
        var error = Refused(leak, KernelProgramType.Xdp, engine);
        Assert.Contains("may be neither submitted nor discarded on a path to this exit", error.Message, StringComparison.Ordinal);
        Loads(Reserve("mov r0, 0"), KernelProgramType.Xdp, engine);
    }

    /// <summary>bpf_loop with r3 set by <paramref name="context"/> (r6 is the program's context).</summary>
    private static string LoopWith(string context) => $"""
        mov r6, r1
        mov r1, 2
        lddw r2, code_addr callback
        {context}
        mov r4, 0
        call 181
        mov r0, 2
        exit
        callback:
        mov r0, 0
        exit
        """;

    [Theory]
    [InlineData("mov r3, r6", true)] // the context
    [InlineData("mov r3, 4096", true)] // a number that is not 0
    [InlineData("ldxw r3, [r6+4]", true)] // the packet end
    [InlineData("ldxw r3, [r6+0]", true)] // the packet
    [InlineData("mov r3, 0", false)]
    [InlineData("mov r3, r10\nadd r3, -8", false)]
    public void A_callback_context_must_be_the_stack_or_null(string context, bool refused)
    {
        var analysis = Program(LoopWith(context)).Analysis.Safety(KernelProgram.AnalysisContext(Environment(), KernelProgramType.Xdp));
        Assert.Equal(refused, !analysis.LoadRefusals.IsEmpty);
        if (refused)
        {
            Assert.Contains("must be a pointer into the stack or NULL", analysis.LoadRefusals[0].Message, StringComparison.Ordinal);
            var error = Refused(LoopWith(context), KernelProgramType.Xdp, TestEngines.All[0].Name);
            Assert.Contains("expected=fp", error.Message, StringComparison.Ordinal);
        }
        else
        {
            Loads(LoopWith(context), KernelProgramType.Xdp, TestEngines.All[0].Name);
        }
    }

    [Fact]
    public void A_callback_context_that_may_be_null_or_not_stays_unproven_without_a_refusal()
    {
        // r3 is 0 or 1 (ingress_ifindex & 1): the kernel would refuse it too, but the analysis cannot tell a number from imprecision here
        var analysis = Program(LoopWith("ldxw r3, [r6+12]\nand r3, 1")).Analysis.Safety(KernelProgram.AnalysisContext(Environment(), KernelProgramType.Xdp));
        Assert.Empty(analysis.LoadRefusals);
        Assert.Contains(analysis.Unproven, f => f.Message.Contains("must be a pointer into the stack or NULL", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(76, "data")]
    [InlineData(80, "data_end")]
    [InlineData(72, "tc_classid")]
    [InlineData(160, "wire_len")]
    public void A_socket_filter_may_not_read_the_fields_linux_refuses_it(int offset, string field)
    {
        string source = $"ldxw r0, [r1+{offset}]\nexit";
        foreach (var engine in TestEngines.All)
        {
            var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(Program(source), KernelProgramType.SocketFilter, Environment(), engine));
            Assert.Contains($"at pc 0: invalid bpf_context access off={offset} size=4: a socket filter may not access __sk_buff.{field}", error.Message, StringComparison.Ordinal);
        }

        // a tc classifier may
        Loads(source, KernelProgramType.SchedCls, TestEngines.All[0].Name);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_socket_filter_reads_the_packet_with_skb_load_bytes_and_loads_its_numeric_fields(string engine)
    {
        using var program = KernelProgram.Load(Program("""
            mov r6, r1
            mov r2, 9
            mov r3, r10
            add r3, -8
            mov r4, 1
            call 26
            ldxb r0, [r10-8]
            ldxw r1, [r6+0]
            exit
            """), KernelProgramType.SocketFilter, Environment(), TestEngines.Get(engine));
        // IPv4/UDP: the protocol byte (17) at offset 9 of the network header, where a socket filter's packet starts
        byte[] frame = new byte[42];
        frame[12] = 0x08;
        frame[14] = 0x45;
        frame[16] = 0;
        frame[17] = 28;
        frame[23] = 17;
        Assert.Equal(17u, program.TestRun(frame).ReturnValue);
    }

    [Fact]
    public void An_undefined_program_type_is_the_projects_error()
    {
        var undefined = (KernelProgramType)7;
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(Program("mov r0, 0\nexit"), undefined, Environment(), TestEngines.All[0]));
        Assert.Equal("7 is not a kernel program type (Xdp, SchedCls, SocketFilter)", error.Message);
        Assert.Throws<EbpfTestRunException>(() => KernelProgram.AnalysisContext(Environment(), undefined));
        Assert.Throws<EbpfTestRunException>(() => KernelContextLayouts.For(undefined));
        Assert.Throws<EbpfTestRunException>(() => PacketHelpers.Register(new HelperTable(), undefined));
        Assert.Throws<EbpfVerificationException>(() => new ProvingVerifier((VerificationMode)9, new SafetyContext()));
    }
}
