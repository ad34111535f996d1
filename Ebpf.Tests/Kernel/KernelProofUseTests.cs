using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Elf;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// Kernel programs are compiled with the layout of the context their runs get, so the engines drop the checks of the
/// packet and context accesses the analysis proves; what could invalidate such a proof during a run (a store through a
/// leaked context address, a helper that moves the packet, also from a callback, a tail call from a program compiled
/// for other memory) keeps its check or is refused.
/// </summary>
public sealed class KernelProofUseTests
{
    private static ElfRuntime Runtime(string name) => KernelOracleCase.Runtime(name);

    private static byte[] Packet(string name) => KernelOracleCase.Frame(name);

    private static (int Checked, int Proven) Statistics(KernelProgram program)
    {
        var statistics = Assert.IsAssignableFrom<IMemoryCheckStatistics>(program.Compiled);
        return (statistics.CheckedAccesses, statistics.ProvenAccesses);
    }

    private static KernelProgram Load(string assembly, IExecutionEngine engine, KernelProgramType type = KernelProgramType.Xdp)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var bytecode = EbpfProgram.Create(Assembler.Assemble(assembly), Verifier.Default, "hostile");
        return KernelProgram.Load(bytecode, type, environment, engine);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Every_access_of_xdp_parse_runs_without_a_check(string engine)
    {
        using var runtime = Runtime("xdp_parse");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine));
        Assert.Same(KernelContextLayouts.NativeFor(KernelProgramType.Xdp), program.Options.EntryContext);

        // The analysis of the program as written (ProvenShareTests: 54 of 54 with the xdp_md layout).
        var written = runtime.GetProgram().Analysis.Safety(SafetyContext.For(runtime.Environment, null, KernelContextLayouts.Xdp));
        Assert.True(written.IsProven);
        Assert.Equal((0, written.AccessCount), Statistics(program));
        Assert.Equal(54, written.AccessCount);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Every_access_of_other_strictly_proven_kernel_programs_runs_without_a_check(string engine)
    {
        // xdp_events writes ring-buffer records (typed as records of their reserved size) and reads the packet.
        // skb_sock reads the run's socket through skb->sk (and bpf_sk_fullsock in tc): its field loads are proven too.
        foreach (var (file, name) in new[] { ("tc_skb", "tc_skb"), ("socket_udp", "socket_udp"), ("xdp_icmp_echo", "icmp_echo"), ("xdp_events", "xdp_events"), ("xdp_tail", "tail_l4"), ("skb_sock", "tc_sock"), ("skb_sock", "socket_sock") })
        {
            using var runtime = Runtime(file);
            using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), name);
            var (checks, proven) = Statistics(program);
            Assert.True(checks == 0 && proven > 0, $"{name}: {checks} checked, {proven} proven");
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_packet_read_that_is_not_proven_still_faults(string engine)
    {
        // No comparison with data_end: the read 5,000 bytes into the packet lies past the 4,096-byte frame.
        using var program = Load("ldxw r2, [r1+0]\nldxw r3, [r1+4]\nldxb r0, [r2+5000]\nexit", TestEngines.Get(engine));
        Assert.Equal((1, 2), Statistics(program)); // the two context loads are proven, the packet read is not
        var error = Assert.Throws<EbpfMemoryAccessException>(() => program.TestRun(Packet("tcp4_80")));
        Assert.Equal(2, error.Pc);
    }

    /// <summary>
    /// The program stores the context's address into the packet and reads it back as a number, then stores through it
    /// where the run's packet pointers lie (native offset 24): the analysis cannot place that store, but it must never
    /// reach them, since the proven reads after it rely on them. The pointers are outside every writable region.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_store_through_a_leaked_context_address_cannot_move_the_packet_pointers(string engine)
    {
        const string Forge = """
            ldxw r2, [r1+0]
            ldxw r3, [r1+4]
            mov r4, r2
            add r4, 16
            jgt r4, r3, out
            stxdw [r2+0], r1
            ldxdw r5, [r2+0]
            lddw r6, 0x10000
            stxdw [r5+24], r6
            stxdw [r5+32], r6
            ldxw r2, [r1+0]
            ldxw r3, [r1+4]
            mov r4, r2
            add r4, 8
            jgt r4, r3, out
            ldxdw r0, [r2+0]
            exit
            out:
            mov r0, 0
            exit
            """;
        using var program = Load(Forge, TestEngines.Get(engine));
        var (checks, proven) = Statistics(program);
        Assert.True(proven >= 6 && checks == 2, $"{checks} checked, {proven} proven"); // the two forged stores keep their checks
        var error = Assert.Throws<EbpfMemoryAccessException>(() => program.TestRun(Packet("tcp4_80")));
        Assert.Equal(9, error.Pc); // the first forged store (lddw takes two slots)
        Assert.Equal(MemoryAccessKind.Write, error.Access);
    }

    /// <summary>
    /// The same for the socket pointer of a tc program (native offset 216, after the packet pointers): the proven loads
    /// of the socket's fields rely on it, so a store through a leaked context address cannot reach it (nor the socket
    /// behind it, which lies in the same read-only region), and the socket reads as the kernel's test run made it.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_store_through_a_leaked_context_address_cannot_move_the_socket_pointer(string engine)
    {
        const string Forge = """
            mov r6, r1
            ldxw r2, [r6+76]
            ldxw r3, [r6+80]
            mov r4, r2
            add r4, 16
            jgt r4, r3, out
            stxdw [r2+0], r6
            ldxdw r5, [r2+0]
            lddw r7, 0x10000
            stxdw [r5+216], r7
            ldxdw r1, [r6+168]
            jeq r1, 0, out
            ldxw r0, [r1+4]
            exit
            out:
            mov r0, 0
            exit
            """;
        using var program = Load(Forge, TestEngines.Get(engine), KernelProgramType.SchedCls);
        var (checks, _) = Statistics(program);
        Assert.Equal(1, checks); // the forged store
        var error = Assert.Throws<EbpfMemoryAccessException>(() => program.TestRun(Packet("tcp4_80")));
        Assert.Equal(10, error.Pc); // lddw takes two slots
        Assert.Equal(MemoryAccessKind.Write, error.Access);

        // without the forged store the socket's family (AF_INET for this IPv4 frame) is read, unchecked
        using var honest = Load(Forge.Replace("stxdw [r5+216], r7", "mov r7, 0", StringComparison.Ordinal), TestEngines.Get(engine), KernelProgramType.SchedCls);
        Assert.Equal(0, Statistics(honest).Checked);
        Assert.Equal(2u, honest.TestRun(Packet("tcp4_80")).ReturnValue);
    }

    /// <summary>Keeps the context in r6 and the packet start in r7, and goes to <c>out</c> unless 64 bytes of packet follow.</summary>
    private const string Proven64 = """
        mov r6, r1
        ldxw r7, [r6+0]
        ldxw r3, [r6+4]
        mov r4, r7
        add r4, 64
        jgt r4, r3, out

        """;

    /// <summary>
    /// After bpf_xdp_adjust_head the packet may have moved: the old pointer's range is forgotten, so the read through it
    /// keeps its check, whether the helper is called by the program or by a bpf_loop callback; a fresh pointer proven
    /// against the new data_end runs without one.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_helper_that_moves_the_packet_voids_the_ranges_proven_before_it(string engine)
    {
        const string Direct = Proven64 + """
            mov r1, r6
            mov r2, 60
            call 44
            ldxb r9, [r7+50]
            ldxw r2, [r6+0]
            ldxw r3, [r6+4]
            mov r4, r2
            add r4, 1
            jgt r4, r3, out
            ldxb r8, [r2+0]
            mov r0, r9
            exit
            out:
            mov r0, 0
            exit
            """;
        const string FromCallback = Proven64 + """
            stxdw [r10-8], r6
            mov r1, 1
            lddw r2, code_addr shift
            mov r3, r10
            add r3, -8
            mov r4, 0
            call 181
            ldxb r0, [r7+50]
            exit
            out:
            mov r0, 0
            exit
            shift:
            ldxdw r1, [r2+0]
            mov r2, 60
            call 44
            mov r0, 0
            exit
            """;
        var frame = Packet("tcp6_9999"); // 88 bytes: 64 proven, 60 moved, 28 left
        using (var direct = Load(Direct, TestEngines.Get(engine)))
        {
            Assert.Equal((1, 5), Statistics(direct)); // ldxb r0, [r7+50] keeps its check
            Assert.Equal(frame[50], (byte)direct.TestRun(frame).ReturnValue); // read through the stale pointer: XDP moves data, not the bytes
        }

        using var callback = Load(FromCallback, TestEngines.Get(engine));
        Assert.Equal((1, 4), Statistics(callback)); // the two proven stack accesses pass the context to the callback (it must be a stack pointer)
        Assert.Equal(frame[50], (byte)callback.TestRun(frame).ReturnValue);
    }

    /// <summary>
    /// A tail call enters only a program compiled for the same context: a kernel program's target relies on the context
    /// its runs get (its packet pointers), so a program compiled for raw memory cannot enter it, nor the other way round.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_tail_call_between_programs_compiled_for_different_contexts_is_refused(string engine)
    {
        var compiler = TestEngines.Get(engine);
        var kernelOptions = ExecutionOptions.Default with { EntryContext = KernelContextLayouts.NativeFor(KernelProgramType.Xdp) };
        ICompiledProgram? target = null;
        var environment = new ProgramEnvironment();
        environment.Helpers.Set(new Helper(0x10000, "enter", (ctx, _, _, _, _, _) => ctx.TailCall(target!) ? 1UL : 2UL));
        var callCall = ProgramLoader.Load(Assembler.Assemble("call 65536\nexit"));
        var done = ProgramLoader.Load(Assembler.Assemble("mov r0, 7\nexit"));
        foreach (var (callerOptions, targetOptions, expected) in new[]
        {
            (ExecutionOptions.Default, kernelOptions, 2UL),
            (kernelOptions, ExecutionOptions.Default, 2UL),
            (kernelOptions, kernelOptions, 7UL),
            (ExecutionOptions.Default, ExecutionOptions.Default, 7UL),
        })
        {
            using var caller = compiler.Compile(callCall, environment, callerOptions);
            using var entered = compiler.Compile(done, environment, targetOptions);
            target = entered;
            ulong result = callerOptions.EntryContext is null
                ? caller.Run(new byte[64], new byte[48])
                : Assert.IsAssignableFrom<CompiledProgram>(caller).RunWithContext(new byte[64], new byte[48], CancellationToken.None);
            Assert.Equal(expected, result);
        }
    }

    /// <summary>
    /// A program compiled for the kernel context (here a tail-call target the runtime keeps in its program array) cannot
    /// be run on memory given directly: its proven accesses rely on the context only a test run builds.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_program_compiled_for_the_kernel_context_refuses_a_run_on_other_memory(string engine)
    {
        using var runtime = Runtime("xdp_tail");
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), "xdp_tail");
        var target = runtime.GetMap<Ebpf.Maps.ProgramArrayMap>("stages").Get(0)!;
        var forged = new byte[64];
        BitConverter.TryWriteBytes(forged.AsSpan(24), 0x10000UL); // where the packet pointers would be read from
        var error = Assert.Throws<InvalidOperationException>(() => target.Run(new byte[64], forged));
        Assert.Contains("was compiled for the native xdp_md context its host builds", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => target.Run(forged));
        Assert.Equal(2u, program.TestRun(Packet("udp4_53")).ReturnValue); // the chain still runs from the test run
    }
}
