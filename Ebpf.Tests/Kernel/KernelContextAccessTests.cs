using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// Context accesses at a constant offset as Linux 6.18 judges them at load (2026-12-03, kern_run on programs of one
/// access written in clang inline assembly, <c>-O2 -g -target bpf</c>): every access it refused said "invalid
/// bpf_context access off=N size=N", and <see cref="KernelProgram"/> refuses the same ones with the same words, on
/// every engine, whatever the contexts the runs give hold after the uapi structure (the library's packet pointers: an
/// 8-byte load at <c>ctx+24</c> of an XDP program used to read the real packet pointer).
/// </summary>
public sealed class KernelContextAccessTests
{
    private const KernelProgramType Xdp = KernelProgramType.Xdp;
    private const KernelProgramType Tc = KernelProgramType.SchedCls;
    private const KernelProgramType Socket = KernelProgramType.SocketFilter;

    /// <summary>Each access with what the kernel said: the offset and size of its refusal, or null when it loaded (and ran).</summary>
    public static TheoryData<string, KernelProgramType, string, string?> Cases()
    {
        var data = new TheoryData<string, KernelProgramType, string, string?>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var (type, access, refused) in Recorded)
            {
                data.Add(engine.Name, type, access, refused);
            }
        }

        return data;
    }

    /// <summary>The recorded accesses (see <see cref="Cases"/>) without the engine.</summary>
    public static TheoryData<KernelProgramType, string, string?> Accesses()
    {
        var data = new TheoryData<KernelProgramType, string, string?>();
        foreach (var (type, access, refused) in Recorded)
        {
            data.Add(type, access, refused);
        }

        return data;
    }

    private static readonly (KernelProgramType Type, string Access, string? Refused)[] Recorded =
        [
            // xdp_md: 24 bytes, 4-byte loads of whole fields only, no stores
            (Xdp, "ldxdw r0, [r1+24]", "off=24 size=8"),
            (Xdp, "ldxw r0, [r1+24]", "off=24 size=4"),
            (Xdp, "ldxw r0, [r1-4]", "off=-4 size=4"),
            (Xdp, "ldxw r0, [r1-24]", "off=-24 size=4"),
            (Xdp, "ldxh r0, [r1+12]", "off=12 size=2"),
            (Xdp, "ldxb r0, [r1+16]", "off=16 size=1"),
            (Xdp, "ldxw r0, [r1+2]", "off=2 size=4"),
            (Xdp, "ldxdw r0, [r1]", "off=0 size=8"),
            (Xdp, "mov r2, 0\nstxw [r1+12], r2", "off=12 size=4"),
            (Xdp, "mov r2, 0\nstxw [r1+16], r2", "off=16 size=4"),
            (Xdp, "ldxw r0, [r1+12]", null),

            // __sk_buff of a tc program: 192 bytes
            (Tc, "ldxdw r0, [r1+192]", "off=192 size=8"),
            (Tc, "ldxw r0, [r1+192]", "off=192 size=4"),
            (Tc, "ldxw r0, [r1-4]", "off=-4 size=4"),
            (Tc, "mov r2, 0\nstxw [r1], r2", "off=0 size=4"),
            (Tc, "ldxh r0, [r1+1]", "off=1 size=2"),
            (Tc, "ldxw r0, [r1+2]", "off=2 size=4"),
            (Tc, "ldxdw r0, [r1+8]", "off=8 size=8"),
            (Tc, "mov r2, 0\nstxh [r1+8], r2", "off=8 size=2"),
            (Tc, "mov r2, 0\nstxh [r1+44], r2", "off=44 size=2"),
            (Tc, "mov r2, 0\nstxw [r1+76], r2", "off=76 size=4"),
            (Tc, "ldxh r0, [r1+76]", "off=76 size=2"),
            (Tc, "ldxdw r0, [r1+80]", "off=80 size=8"),
            (Tc, "ldxw r0, [r1+88]", "off=88 size=4"),
            (Tc, "ldxw r0, [r1+100]", "off=100 size=4"),
            (Tc, "ldxw r0, [r1+136]", "off=136 size=4"),
            (Tc, "ldxw r0, [r1+144]", "off=144 size=4"),
            (Tc, "ldxw r0, [r1+148]", "off=148 size=4"),
            (Tc, "ldxdw r0, [r1+144]", "off=144 size=8"),
            (Tc, "ldxw r0, [r1+152]", "off=152 size=4"),
            (Tc, "ldxw r0, [r1+156]", "off=156 size=4"),
            (Tc, "mov r2, 0\nstxw [r1+152], r2", "off=152 size=4"),
            (Tc, "ldxw r0, [r1+168]", "off=168 size=4"),
            (Tc, "ldxw r0, [r1+172]", "off=172 size=4"),
            (Tc, "mov r2, 0\nstxdw [r1+168], r2", "off=168 size=8"),
            (Tc, "ldxw r0, [r1+184]", "off=184 size=4"),
            (Tc, "mov r2, 0\nstxdw [r1+184], r2", "off=184 size=8"),
            (Tc, "ldxdw r0, [r1+64]", "off=64 size=8"),
            (Tc, "ldxw r0, [r1+8]", null),
            (Tc, "ldxh r0, [r1+10]", null),
            (Tc, "ldxw r0, [r1+176]", null),
            (Tc, "mov r2, 0\nstxh [r1+48], r2", null),
            (Tc, "mov r2, 0\nstxb [r1+49], r2", null),

            // __sk_buff of a socket filter: stores to cb only
            (Socket, "ldxdw r0, [r1+192]", "off=192 size=8"),
            (Socket, "mov r2, 0\nstxw [r1+8], r2", "off=8 size=4"),
            (Socket, "ldxw r0, [r1+2]", "off=2 size=4"),
            (Socket, "mov r2, 0\nstxw [r1+48], r2", null),
            (Socket, "mov r2, 0\nstxh [r1+48], r2", null),

            // recorded on 2026-12-03 at 09:15 (same kernel and way): cb as 8-byte words and single bytes, sk, tstamp_type,
            // the 8-byte timestamps, narrow stores
            (Tc, "ldxdw r0, [r1+48]", null),
            (Tc, "ldxdw r0, [r1+56]", null),
            (Tc, "mov r2, 0\nstxdw [r1+48], r2", null),
            (Tc, "mov r2, 0\nstxdw [r1+56], r2", null),
            (Tc, "mov r2, 0\nstxdw [r1+64], r2", "off=64 size=8"),
            (Tc, "ldxdw r0, [r1+52]", "off=52 size=8"),
            (Tc, "ldxw r0, [r1+66]", "off=66 size=4"),
            (Tc, "ldxh r0, [r1+66]", null),
            (Tc, "ldxb r0, [r1+67]", null),
            (Tc, "ldxdw r0, [r1+168]", null),
            (Tc, "ldxh r0, [r1+170]", "off=170 size=2"),
            (Tc, "mov r2, 0\nstxw [r1+168], r2", "off=168 size=4"),
            (Tc, "ldxb r0, [r1+180]", null),
            (Tc, "ldxh r0, [r1+180]", "off=180 size=2"),
            (Tc, "ldxb r0, [r1+181]", "off=181 size=1"),
            (Tc, "mov r2, 0\nstxb [r1+180], r2", "off=180 size=1"),
            (Tc, "ldxdw r0, [r1+152]", null),
            (Tc, "ldxb r0, [r1+152]", "off=152 size=1"),
            (Tc, "mov r2, 0\nstxdw [r1+152], r2", null),
            (Tc, "ldxdw r0, [r1+184]", null),
            (Tc, "ldxb r0, [r1+8]", null),
            (Tc, "mov r2, 0\nstxb [r1+8], r2", "off=8 size=1"),
            (Tc, "mov r2, 0\nstxh [r1+72], r2", "off=72 size=2"),
            (Tc, "mov r2, 0\nstxh [r1+12], r2", "off=12 size=2"),
            (Tc, "mov r2, 0\nstxh [r1+32], r2", "off=32 size=2"),
            (Socket, "ldxdw r0, [r1+168]", null),
            (Socket, "ldxdw r0, [r1+48]", null),
            (Socket, "ldxdw r0, [r1+64]", "off=64 size=8"),
            (Socket, "mov r2, 0\nstxdw [r1+56], r2", null),
            (Socket, "mov r2, 0\nstxb [r1+67], r2", null),
            (Socket, "ldxb r0, [r1+180]", "off=180 size=1"),
            (Socket, "ldxw r0, [r1+176]", null),
        ];

    private static EbpfProgram Program(string access, KernelProgramType type) =>
        EbpfProgram.Create(Assembler.Assemble($"{access}\nmov r0, {(type == Xdp ? 2 : 0)}\nexit"), StructuralOnlyVerifier.Instance, "access");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_context_access_is_refused_or_loaded_as_the_kernel_does(string engine, KernelProgramType type, string access, string? refused)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        int pc = access.Count(c => c == '\n');
        if (refused is null)
        {
            using var program = KernelProgram.Load(Program(access, type), type, environment, TestEngines.Get(engine));
            Assert.Equal(type == Xdp ? 2u : 0u, program.TestRun(KernelOracleCase.Frame("udp4_53")).ReturnValue);
            Assert.Empty(KernelProgram.LoadRefusals(Program(access, type), type, Program(access, type).Analysis.Safety(KernelProgram.AnalysisContext(environment, type))));
            return;
        }

        var error = Assert.Throws<EbpfTestRunException>(() => KernelProgram.Load(Program(access, type), type, environment, TestEngines.Get(engine)));
        Assert.StartsWith($"program 'access' at pc {pc}: invalid bpf_context access {refused}: ", error.Message, StringComparison.Ordinal);

        // verify --type reports the same refusal at the same pc
        var written = Program(access, type);
        var refusal = Assert.Single(KernelProgram.LoadRefusals(written, type, written.Analysis.Safety(KernelProgram.AnalysisContext(environment, type))));
        Assert.Equal(pc, refusal.Pc);
        Assert.StartsWith($"invalid bpf_context access {refused}: ", refusal.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// One set of rules serves the load and the safety analysis (the type's context layout): the analysis of the program
    /// as written refutes exactly the accesses the kernel refused, with an error at their pc, and proves the ones it
    /// loaded; so a program run without <see cref="KernelProgram"/> (the layout alone in the analysis' context) is held to
    /// the kernel's rules too.
    /// </summary>
    [Theory]
    [MemberData(nameof(Accesses))]
    public void The_analysis_refutes_exactly_the_accesses_the_kernel_refuses(KernelProgramType type, string access, string? refused)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        int pc = access.Count(c => c == '\n');
        var analysis = Program(access, type).Analysis.Safety(KernelProgram.AnalysisContext(environment, type));
        if (refused is null)
        {
            Assert.True(analysis.IsProven, string.Join("; ", analysis.Errors.Concat(analysis.Unproven).Select(f => f.Message)));
            return;
        }

        var error = Assert.Single(analysis.Errors);
        Assert.Equal(pc, error.Pc);
        Assert.Equal(AccessOutcome.Refuted, analysis.Access(pc).Outcome);
        Assert.StartsWith("r1: ", error.Message, StringComparison.Ordinal);
    }
}
