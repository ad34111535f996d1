using Ebpf.Assembly;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Ebpf.X64.Compiler;

namespace Ebpf.Tests.X64;

/// <summary>
/// What the registers hold around helper calls now that x64 saves and reloads only what may be read afterwards
/// (<see cref="RegisterLiveness"/>) and passes the never-named r3-r5 as zeros from the block: r1-r5 read after a call
/// keep their values, unnamed arguments reach the helper as 0 on every call (also after yields), and a register read
/// only on one path after the call is kept. On every engine, against values worked out by hand; the program shapes
/// cover the three call paths of x64 (return to the host, return with yields, the dispatcher under a local call).
/// </summary>
public class HelperCallRegisterTests
{
    /// <summary>Helper 1 weighs its arguments so that any one of them out of place shows.</summary>
    private static ProgramEnvironment WeighingEnvironment()
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "weigh", (a, b, c, d, e) => a + (b << 8) + (c << 16) + (d << 24) + (e << 32));
        return environment;
    }

    private static ulong Run(string engine, string source, ulong inputLength = 8)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);
        // Reading r1-r5 after a helper call is an error for the analysis (the kernel clobbers them), so the default
        // (hybrid) verification refuses these programs; what is tested is what the engines do, structurally verified.
        using var compiled = TestEngines.Get(engine).Compile(program, WeighingEnvironment(), new ExecutionOptions { Verification = VerificationMode.Structural });
        return compiled.Run(new byte[inputLength]);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Argument_registers_read_after_a_call_keep_their_values(string engine)
    {
        // r0 = 5 + (8 << 8) + (7 << 16) (r2 is the input length, 8); then r1 + r3 + r5 (5 + 7 + 0) are read after the call.
        ulong r0 = Run(engine, "mov r1, 5\nmov r3, 7\ncall 1\nadd r0, r1\nadd r0, r3\nadd r0, r5\nexit");
        Assert.Equal(5 + (8UL << 8) + (7UL << 16) + 12, r0);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Never_named_arguments_reach_every_call_as_zero_and_r2_as_the_input_length(string engine)
    {
        // 40 calls in a loop; r2 is never named, so it is the input length (24) at every call; r3-r5 are never named.
        ulong r0 = Run(engine, "mov r6, 40\nmov r7, 0\nloop:\nmov r1, r6\ncall 1\nadd r7, r0\nsub r6, 1\njne r6, 0, loop\nmov r0, r7\nexit", 24);
        ulong expected = 0;
        for (ulong i = 40; i > 0; i--)
        {
            expected += i + (24UL << 8);
        }

        Assert.Equal(expected, r0);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Never_named_arguments_stay_zero_through_yields(string engine)
    {
        // A loop without a call (x64 yields to the host in it), then calls: r3-r5 are still 0, r1 set, r2 the length.
        ulong r0 = Run(
            engine,
            "mov r6, 0\nloop:\nadd r6, 1\njlt r6, 200000, loop\nmov r1, r6\ncall 1\nmov r7, r0\nmov r1, 1\ncall 1\nadd r0, r7\nexit",
            16);
        Assert.Equal(200_000 + (16UL << 8) + 1 + (16UL << 8), r0);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_register_read_on_one_path_after_the_call_is_kept(string engine)
    {
        // r6 is dead on the fall-through path (written at once) but read on the taken one, which the run takes
        // (r0 = 2 + (8 << 8)); r0 = r6 + r1.
        const string source = "mov r6, 11\nmov r1, 2\ncall 1\njne r0, 2, +2\nmov r6, 1\nja +0\nmov r0, r6\nadd r0, r1\nexit";
        Assert.Equal(13UL, Run(engine, source));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Registers_around_a_call_inside_a_local_function(string engine)
    {
        // The local call sends x64's helper calls through the dispatcher; the callee hands r1-r5 back to the caller.
        const string source = "mov r4, 3\ncall local f\nadd r0, r4\nadd r0, r1\nexit\nf:\nmov r1, 9\ncall 1\nadd r0, r1\nexit";
        Assert.Equal(9 + (8UL << 8) + (3UL << 24) + 9 + 3 + 9, Run(engine, source));
    }
}
