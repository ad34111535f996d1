using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// <c>skb-&gt;sk</c> and what the program does with it, as Linux 6.18 judged it at load (2026-12-03, kern_run on
/// programs written in clang inline assembly, <c>-O2 -g -target bpf</c>, run on udp4_53): the socket pointer must be
/// compared with 0 before a field is loaded ("R1 invalid mem access 'sock_common_or_null'"), no field may be stored
/// ("R1 cannot write into sock_common"), only some fields at some sizes may be loaded ("R1 invalid sock_common access
/// off=8 size=4": type, protocol, mark and priority only through <c>bpf_sk_fullsock</c>), no arithmetic, and
/// <c>bpf_sk_fullsock</c> takes only a socket compared with 0. <see cref="KernelProgram"/> refuses each program the
/// kernel refused, naming the pc and the kernel's words, on every engine, and loads and runs the others; the analysis
/// proves what it loads.
/// </summary>
public sealed class KernelSocketAccessTests
{
    private const KernelProgramType Tc = KernelProgramType.SchedCls;
    private const KernelProgramType Socket = KernelProgramType.SocketFilter;

    /// <summary>sk in r1, compared with 0; the access (one line) runs when it is not null.</summary>
    private static string Checked(string access) => $"ldxdw r1, [r1+168]\njeq r1, 0, +{access.Count(c => c == '\n') + 1}\n{access}";

    /// <summary>sk in r1, compared with 0, bpf_sk_fullsock(sk) in r0, compared with 0; the access (one line) runs when it is not null.</summary>
    private static string Full(string access) => $"ldxdw r1, [r1+168]\njeq r1, 0, +{access.Count(c => c == '\n') + 3}\ncall 95\njeq r0, 0, +{access.Count(c => c == '\n') + 1}\n{access}";

    /// <summary>sk in r1, compared with 0, bpf_tcp_sock(sk) in r0, compared with 0; the access (one line) runs when it is not null.</summary>
    private static string Tcp(string access) => $"ldxdw r1, [r1+168]\njeq r1, 0, +{access.Count(c => c == '\n') + 3}\ncall 96\njeq r0, 0, +{access.Count(c => c == '\n') + 1}\n{access}";

    /// <summary>Each program with what the kernel said: the pc and words of its refusal, or null when it loaded (and ran, returning 0).</summary>
    private static readonly (KernelProgramType Type, string Program, int Pc, string? Refused)[] Recorded =
        [
            // the socket pointer compared with 0 (sock_common): fields, sizes and offsets
            (Tc, Checked("ldxw r0, [r1+4]"), 0, null),
            (Tc, Checked("ldxw r0, [r1+8]"), 2, "invalid sock_common access off=8 size=4"),
            (Tc, Checked("ldxw r0, [r1+12]"), 2, "invalid sock_common access off=12 size=4"),
            (Tc, Checked("ldxw r0, [r1+16]"), 2, "invalid sock_common access off=16 size=4"),
            (Tc, Checked("ldxw r0, [r1+20]"), 2, "invalid sock_common access off=20 size=4"),
            (Tc, Checked("mov r2, 0\nstxw [r1+4], r2"), 3, "cannot write into sock_common"),
            (Tc, Checked("mov r2, 0\nstxw [r1], r2"), 3, "cannot write into sock_common"),
            (Tc, Checked("ldxw r0, [r1+80]"), 2, "invalid sock_common access off=80 size=4"),
            (Tc, Checked("ldxw r0, [r1-4]"), 2, "invalid sock_common access off=-4 size=4"),
            (Tc, Checked("ldxdw r0, [r1]"), 2, "invalid sock_common access off=0 size=8"),
            (Tc, Checked("ldxdw r0, [r1+24]"), 2, "invalid sock_common access off=24 size=8"),
            (Tc, Checked("ldxh r0, [r1+4]"), 0, null),
            (Tc, Checked("ldxh r0, [r1+6]"), 2, "invalid sock_common access off=6 size=2"),
            (Tc, Checked("ldxb r0, [r1]"), 2, "invalid sock_common access off=0 size=1"),
            (Tc, Checked("ldxh r0, [r1]"), 2, "invalid sock_common access off=0 size=2"),
            (Tc, Checked("ldxw r0, [r1+2]"), 2, "invalid sock_common access off=2 size=4"),
            (Tc, Checked("ldxb r0, [r1+27]"), 0, null),
            (Tc, Checked("ldxh r0, [r1+48]"), 0, null),
            (Tc, Checked("ldxh r0, [r1+50]"), 2, "invalid sock_common access off=50 size=2"),
            (Tc, Checked("ldxb r0, [r1+49]"), 0, null),
            (Tc, Checked("ldxb r0, [r1+44]"), 0, null),
            (Tc, Checked("ldxh r0, [r1+44]"), 0, null),
            (Tc, Checked("ldxb r0, [r1+72]"), 0, null),
            (Tc, Checked("ldxb r0, [r1+76]"), 0, null),
            (Tc, Checked("ldxw r0, [r1+76]"), 0, null),
            (Tc, Checked("ldxw r0, [r1+68]"), 0, null),
            (Tc, Checked("ldxb r0, [r1+57]"), 0, null),

            // not compared with 0, arithmetic, copies
            (Tc, "ldxdw r1, [r1+168]\nldxw r0, [r1+4]", 1, "invalid mem access 'sock_common_or_null'"),
            (Tc, "ldxdw r1, [r1+168]\nadd r1, 4", 1, "pointer arithmetic on sock_common_or_null prohibited, null-check it first"),
            (Tc, Checked("add r1, 4"), 2, "pointer arithmetic on sock_common prohibited"),
            (Tc, "ldxdw r1, [r1+168]\nadd32 r1, 0", 1, "32-bit pointer arithmetic prohibited"),
            (Tc, "ldxdw r1, [r1+168]\nstxdw [r10-8], r1\nldxdw r1, [r10-8]\njeq r1, 0, +1\nldxw r0, [r1+4]", 0, null),
            (Tc, "ldxdw r1, [r1+168]\njne r1, 0, +2\nmov r0, 0\nexit\nldxw r0, [r1+4]", 0, null),
            (Tc, "ldxdw r1, [r1+168]\njeq r1, 5, +0", 0, null),

            // bpf_sk_fullsock (sock) and bpf_get_listener_sock
            (Tc, Full("ldxw r0, [r0+8]"), 0, null),
            (Tc, "ldxdw r1, [r1+168]\njeq r1, 0, +2\ncall 95\nldxw r0, [r0+8]", 3, "invalid mem access 'sock_or_null'"),
            (Tc, Full("ldxw r0, [r0+80]"), 4, "invalid sock access off=80 size=4"),
            (Tc, Full("mov r2, 0\nstxw [r0+16], r2"), 5, "cannot write into sock"),
            (Tc, Full("ldxdw r0, [r0+8]"), 4, "invalid sock access off=8 size=8"),
            (Tc, Full("ldxb r0, [r0+13]"), 4, "invalid sock access off=13 size=1"),
            (Tc, Full("ldxh r0, [r0+22]"), 4, "invalid sock access off=22 size=2"),
            (Tc, Full("ldxw r2, [r0+12]\nldxw r2, [r0+16]\nldxw r2, [r0+20]"), 0, null),
            (Tc, "ldxdw r1, [r1+168]\ncall 95", 1, "type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock"),
            (Tc, "mov r1, 0\ncall 95", 1, "type=scalar expected=sock_common, sock, tcp_sock, xdp_sock"),
            (Tc, "call 95", 0, "type=ctx expected=sock_common, sock, tcp_sock, xdp_sock"),
            (Tc, "ldxdw r1, [r1+168]\njeq r1, 0, +6\ncall 95\njeq r0, 0, +4\nmov r1, r0\ncall 95\njeq r0, 0, +1\nldxw r0, [r0+8]", 0, null),
            (Tc, "ldxdw r1, [r1+168]\njeq r1, 0, +3\ncall 98\njeq r0, 0, +1\nldxw r0, [r0+8]", 0, null),

            // bpf_tcp_sock (tcp_sock): whole fields only, 4 bytes but for the two 8-byte counters at 80 and 88, loads only
            (Tc, Tcp("ldxw r0, [r0+0]"), 0, null),
            (Tc, Tcp("ldxw r0, [r0+4]"), 0, null),
            (Tc, Tcp("ldxw r0, [r0+76]"), 0, null),
            (Tc, Tcp("ldxdw r0, [r0+80]"), 0, null),
            (Tc, Tcp("ldxdw r0, [r0+88]"), 0, null),
            (Tc, Tcp("ldxw r0, [r0+96]"), 0, null),
            (Tc, Tcp("ldxw r0, [r0+100]"), 0, null),
            (Tc, Tcp("ldxw r0, [r0+104]"), 0, null),
            (Tc, Tcp("ldxw r0, [r0+108]"), 0, null),
            (Tc, Tcp("ldxw r0, [r0+80]"), 4, "invalid tcp_sock access off=80 size=4"),
            (Tc, Tcp("ldxw r0, [r0+88]"), 4, "invalid tcp_sock access off=88 size=4"),
            (Tc, Tcp("ldxw r0, [r0+112]"), 4, "invalid tcp_sock access off=112 size=4"),
            (Tc, Tcp("ldxw r0, [r0-4]"), 4, "invalid tcp_sock access off=-4 size=4"),
            (Tc, Tcp("ldxdw r0, [r0+0]"), 4, "invalid tcp_sock access off=0 size=8"),
            (Tc, Tcp("ldxdw r0, [r0+84]"), 4, "invalid tcp_sock access off=84 size=8"),
            (Tc, Tcp("ldxdw r0, [r0+96]"), 4, "invalid tcp_sock access off=96 size=8"),
            (Tc, Tcp("ldxh r0, [r0+0]"), 4, "invalid tcp_sock access off=0 size=2"),
            (Tc, Tcp("ldxh r0, [r0+2]"), 4, "invalid tcp_sock access off=2 size=2"),
            (Tc, Tcp("ldxb r0, [r0+0]"), 4, "invalid tcp_sock access off=0 size=1"),
            (Tc, Tcp("ldxb r0, [r0+3]"), 4, "invalid tcp_sock access off=3 size=1"),
            (Tc, Tcp("ldxw r0, [r0+2]"), 4, "invalid tcp_sock access off=2 size=4"),

            // Linux 6.18 failed this one with EFAULT ("verifier bug: error during ctx access conversion"): refused here in words of our own
            (Tc, Tcp("ldxw r0, [r0+84]"), 4, "invalid tcp_sock access off=84 size=4"),
            (Tc, "ldxdw r1, [r1+168]\njeq r1, 0, +2\ncall 96\nldxw r0, [r0+0]", 3, "invalid mem access 'tcp_sock_or_null'"),
            (Tc, Tcp("mov r2, 0\nstxw [r0+0], r2"), 5, "cannot write into tcp_sock"),
            (Tc, Tcp("add r0, 4"), 4, "pointer arithmetic on tcp_sock prohibited"),
            (Tc, "ldxdw r1, [r1+168]\njeq r1, 0, +2\ncall 96\nadd r0, 4", 3, "pointer arithmetic on tcp_sock_or_null prohibited, null-check it first"),
            (Tc, "ldxdw r1, [r1+168]\ncall 96", 1, "type=sock_common_or_null expected=sock_common, sock, tcp_sock, xdp_sock"),
            (Tc, "mov r1, 0\ncall 96", 1, "type=scalar expected=sock_common, sock, tcp_sock, xdp_sock"),
            (Tc, "call 96", 0, "type=ctx expected=sock_common, sock, tcp_sock, xdp_sock"),
            (Tc, Tcp("mov r1, r0\ncall 95"), 0, null),
            (Tc, Tcp("mov r1, r0\ncall 96"), 0, null),
            (Tc, Tcp("mov r1, r0\ncall 98"), 0, null),
            (Tc, Tcp("stxdw [r10-8], r0\nldxdw r0, [r10-8]\nldxw r0, [r0+4]"), 0, null),
            (Tc, "ldxdw r1, [r1+168]\njeq r1, 0, +6\ncall 95\njeq r0, 0, +4\nmov r1, r0\ncall 96\njeq r0, 0, +1\nldxw r0, [r0+4]", 0, null),

            // socket filters: the same socket, none of the tc socket helpers
            (Socket, Checked("ldxw r0, [r1+4]"), 0, null),
            (Socket, "ldxdw r1, [r1+168]\nldxw r0, [r1+4]", 1, "invalid mem access 'sock_common_or_null'"),
            (Socket, Checked("ldxw r0, [r1+8]"), 2, "invalid sock_common access off=8 size=4"),
        ];

    /// <summary>Every recorded program on every engine.</summary>
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var engine in TestEngines.All)
        {
            for (int i = 0; i < Recorded.Length; i++)
            {
                data.Add(engine.Name, i);
            }
        }

        return data;
    }

    /// <summary>The recorded programs (index into the list).</summary>
    public static TheoryData<int> Programs() => [.. Enumerable.Range(0, Recorded.Length)];

    private static EbpfProgram Program(string text) =>
        EbpfProgram.Create(Assembler.Assemble($"{text}\nmov r0, 0\nexit"), StructuralOnlyVerifier.Instance, "access");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_program_is_refused_or_loaded_as_the_kernel_did(string engine, int index)
    {
        var (type, text, pc, refused) = Recorded[index];
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        if (refused is null)
        {
            using var program = KernelProgram.Load(Program(text), type, environment, TestEngines.Get(engine));
            Assert.Equal(0u, program.TestRun(KernelOracleCase.Frame("udp4_53")).ReturnValue);
            return;
        }

        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(Program(text), type, environment, TestEngines.Get(engine)));
        Assert.StartsWith($"program 'access' at pc {pc}", error.Message, StringComparison.Ordinal);
        Assert.Contains($": r", error.Message, StringComparison.Ordinal);
        Assert.Contains(refused, error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The analysis of the program as written (the type's layout, whose socket layouts hold the kernel's rules) proves
    /// every program the kernel loaded, and finds each refused one at its pc: an error there (a refuted socket access)
    /// or a load refusal (arithmetic, a helper argument), in the kernel's words; <see cref="KernelProgram.LoadRefusals"/>
    /// (what <c>ebpf verify --type</c> reports) lists it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Programs))]
    public void The_analysis_proves_the_loaded_programs_and_finds_the_refused_ones(int index)
    {
        var (type, text, pc, refused) = Recorded[index];
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var written = Program(text);
        var analysis = written.Analysis.Safety(KernelProgram.AnalysisContext(environment, type));
        var refusals = KernelProgram.LoadRefusals(written, type, analysis);
        if (refused is null)
        {
            Assert.True(analysis.IsProven, string.Join("; ", analysis.Errors.Concat(analysis.Unproven).Select(f => f.Message)));
            Assert.Empty(refusals);
            return;
        }

        var refusal = Assert.Single(refusals);
        Assert.Equal(pc, refusal.Pc);
        Assert.Contains(refused, refusal.Message, StringComparison.Ordinal);
        if (analysis.Errors.Length != 0)
        {
            var error = Assert.Single(analysis.Errors);
            Assert.Equal(pc, error.Pc);
            Assert.Equal(AccessOutcome.Refuted, analysis.Access(pc).Outcome);
        }

        // The refusal says it: no error is left to report besides it (ebpf verify prints each problem once).
        Assert.Empty(KernelProgram.ErrorsBesidesRefusals(analysis, refusals));
        Assert.Equal(analysis.Errors.Length, KernelProgram.ErrorsBesidesRefusals(analysis, []).Count);
    }

    /// <summary>
    /// Socket filters may not call bpf_sk_fullsock, bpf_tcp_sock or bpf_get_listener_sock (Linux 6.18: "program of this
    /// type cannot use helper bpf_sk_fullsock#95", likewise #96 and #98); tc programs may.
    /// </summary>
    [Theory]
    [InlineData(Socket, 95u, "bpf_sk_fullsock")]
    [InlineData(Socket, 96u, "bpf_tcp_sock")]
    [InlineData(Socket, 98u, "bpf_get_listener_sock")]
    public void The_socket_helpers_a_type_lacks_are_a_load_error_naming_them(KernelProgramType type, uint helper, string name)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(Program(Checked($"call {helper}")), type, environment, TestEngines.All[0]));
        Assert.Equal($"program 'access' calls {name} (helper {helper}), not implemented for {type} programs", error.Message);
    }

    /// <summary>
    /// bpf_tcp_sock gives NULL for the test run's socket, whose protocol is 0 (Linux 6.18, kern_run: "r1 = sk; if r1 == 0
    /// goto 3f; call 96; if r0 == 0 goto 2f; r0 = 1; exit; 2: r0 = 2; exit; 3: r0 = 3; exit" answered retval=2 on
    /// tcp4_80, a TCP packet), on every engine, on TCP, UDP and IPv6 frames.
    /// </summary>
    [Theory]
    [InlineData("tcp4_80")]
    [InlineData("udp4_53")]
    [InlineData("tcp6_9999")]
    public void Bpf_tcp_sock_gives_null_for_the_test_runs_socket(string frame)
    {
        const string text = "ldxdw r1, [r1+168]\njeq r1, 0, +6\ncall 96\njeq r0, 0, +2\nmov r0, 1\nexit\nmov r0, 2\nexit\nmov r0, 3\nexit";
        foreach (var engine in TestEngines.All)
        {
            var environment = LinuxHelpers.Register(new ProgramEnvironment());
            using var program = KernelProgram.Load(EbpfProgram.Create(Assembler.Assemble(text), StructuralOnlyVerifier.Instance, "tcp"), Tc, environment, engine);
            Assert.Equal(2u, program.TestRun(KernelOracleCase.Frame(frame)).ReturnValue);
        }
    }

    /// <summary>examples/kernel/skb_sock.c's socket_sock_full, which Linux 6.18 refused ("program of this type cannot use helper bpf_sk_fullsock#95"), is a load error naming the helper.</summary>
    [Fact]
    public void A_socket_filter_calling_bpf_sk_fullsock_is_refused_as_the_kernel_refused_it()
    {
        using var runtime = KernelOracleCase.Runtime("skb_sock");
        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(runtime, TestEngines.All[0], "socket_sock_full"));
        Assert.Equal("program 'socket_sock_full' calls bpf_sk_fullsock (helper 95), not implemented for SocketFilter programs", error.Message);
    }

    /// <summary>bpf_get_socket_uid(skb) answered 0 on Linux 6.18 for both types (kern_run, "call 47; exit", udp4_53: retval=0): the test run's socket belongs to root.</summary>
    [Theory]
    [InlineData(Tc)]
    [InlineData(Socket)]
    public void The_test_runs_socket_belongs_to_root(KernelProgramType type)
    {
        foreach (var engine in TestEngines.All)
        {
            var environment = LinuxHelpers.Register(new ProgramEnvironment());
            var program = EbpfProgram.Create(Assembler.Assemble("mov r6, r1\nmov r0, 7\nstxw [r10-4], r0\nmov r1, r6\ncall 47\nexit"), StructuralOnlyVerifier.Instance, "uid");
            using var loaded = KernelProgram.Load(program, type, environment, engine);
            Assert.Equal(0u, loaded.TestRun(KernelOracleCase.Frame("udp4_53")).ReturnValue);
        }
    }
}
