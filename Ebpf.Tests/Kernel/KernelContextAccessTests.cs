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
        (KernelProgramType Type, string Access, string? Refused)[] cases =
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
        ];
        var data = new TheoryData<string, KernelProgramType, string, string?>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var (type, access, refused) in cases)
            {
                data.Add(engine.Name, type, access, refused);
            }
        }

        return data;
    }

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
    /// Accesses Linux 6.18 loads that the library does not model (an 8-byte load or store of two <c>cb</c> words, the
    /// <c>sk</c> pointer, the byte <c>tstamp_type</c>): still refused, but by the analysis, not as a kernel refusal.
    /// </summary>
    [Theory]
    [InlineData(Tc, "ldxdw r0, [r1+48]")]
    [InlineData(Tc, "mov r2, 0\nstxdw [r1+48], r2")]
    [InlineData(Tc, "ldxdw r0, [r1+168]")]
    [InlineData(Tc, "ldxb r0, [r1+180]")]
    [InlineData(Socket, "ldxdw r0, [r1+48]")]
    public void Accesses_the_kernel_loads_but_the_library_does_not_model_are_not_called_kernel_refusals(KernelProgramType type, string access)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        var written = Program(access, type);
        var analysis = written.Analysis.Safety(KernelProgram.AnalysisContext(environment, type));
        Assert.Empty(KernelProgram.LoadRefusals(written, type, analysis));
        Assert.Contains(analysis.Errors, e => e.Pc == access.Count(c => c == '\n'));
        foreach (var engine in TestEngines.All)
        {
            var error = Assert.Throws<EbpfVerificationException>(() => KernelProgram.Load(Program(access, type), type, environment, engine));
            Assert.DoesNotContain("invalid bpf_context access", error.Message, StringComparison.Ordinal);
        }
    }
}
