using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using Ebpf.X64.Compiler;

namespace Ebpf.Tests.X64;

/// <summary>
/// x64 code whose helper calls return to the managed run method (no GC transition, no reverse P/Invoke): which
/// programs qualify, that registers, stop requests and helper failures come through a call the same as on every
/// engine, and that such runs stay correct while another thread forces garbage collections.
/// </summary>
public class HelperReturnTests
{
    [Theory]
    [InlineData("mov r1, 1\ncall 1\nexit", true)]
    [InlineData("mov r1, 1\ncallx r1\nexit", true)]
    [InlineData("mov r6, 3\nmov r1, r6\ncall 1\nsub r6, 1\njne r6, 0, -4\nexit", true)] // every iteration calls
    [InlineData("mov r0, 1\nexit", false)] // no helper call
    [InlineData("mov r6, 3\nsub r6, 1\njne r6, 0, -2\nmov r1, 1\ncall 1\nexit", false)] // a loop before the call
    [InlineData("call 1\nmov r6, 3\nsub r6, 1\njne r6, 0, -2\nexit", false)] // a loop after the call
    [InlineData("mov r6, 3\njeq r6, 1, +1\ncall 1\nsub r6, 1\njne r6, 0, -4\nexit", false)] // a path round the loop skips it
    [InlineData("call 1\ncall local f\nexit\nf:\nmov r0, 0\nexit", false)] // a local call
    public void Only_programs_whose_every_loop_calls_a_helper_and_that_have_no_local_calls_qualify(string source, bool applies)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);
        Assert.Equal(applies, HelperReturnAnalysis.Applies(program));
    }

    [Fact]
    public void A_program_longer_than_the_brief_limit_does_not_qualify()
    {
        var source = "call 1\n" + string.Concat(Enumerable.Repeat("add r0, 1\n", X64CompiledProgram.MaxBriefSlots)) + "exit";
        Assert.False(HelperReturnAnalysis.Applies(EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance)));
    }

    /// <summary>r6-r9 survive a helper call; r1-r5 reach the helper; r0 is the result; three calls in a loop.</summary>
    private const string RegisterProgram = """
        mov r6, 6
        mov r7, 7
        mov r8, 8
        mov r9, 9
        mov r0, 0
        loop:
        mov r1, r6
        mov r2, r7
        mov r3, r8
        mov r4, r9
        mov r5, r0
        call 1
        add r6, r0
        add r7, 1
        jlt r7, 10, loop
        mov r0, r6
        lsh r0, 8
        add r0, r8
        lsh r0, 8
        add r0, r9
        exit
        """;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Registers_survive_helper_calls_in_a_loop(string engine)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "mix", (a, b, c, d, e) => a + (b * 10) + (c * 100) + (d * 1000) + (e * 10000));
        using var compiled = TestEngines.Get(engine).Compile(
            EbpfProgram.Create(Assembler.Assemble(RegisterProgram), StructuralOnlyVerifier.Instance), environment);

        // By hand: r7 = 7, 8, 9; r0 = r6 + 10*r7 + 800 + 9000 + 10000*r0_prev; r6 += r0.
        ulong r6 = 6, r0 = 0;
        for (ulong r7 = 7; r7 < 10; r7++)
        {
            r0 = r6 + (10 * r7) + 800 + 9000 + (10000 * r0);
            r6 += r0;
        }

        Assert.Equal((((r6 << 8) + 8) << 8) + 9, compiled.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_helper_that_stops_the_run_ends_it_with_its_value_and_a_failing_helper_raises_at_its_pc(string engine)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "stop_at_3", (HelperContext context, ulong a, ulong _, ulong _, ulong _, ulong _) =>
        {
            if (a == 3)
            {
                context.Stop(77);
            }

            return a;
        });
        environment.Helpers.Add(2, "fail", (_, _, _, _, _) => throw new InvalidOperationException("no"));
        var stopping = EbpfProgram.Create(Assembler.Assemble("mov r6, 0\nadd r6, 1\nmov r1, r6\ncall 1\nja -4\nexit"), StructuralOnlyVerifier.Instance);
        using var stops = TestEngines.Get(engine).Compile(stopping, environment);
        Assert.Equal(77UL, stops.Run(new byte[8]));

        var failing = EbpfProgram.Create(Assembler.Assemble("mov r1, 1\ncall 2\nexit"), StructuralOnlyVerifier.Instance);
        using var fails = TestEngines.Get(engine).Compile(failing, environment);
        var error = Assert.Throws<EbpfHelperException>(() => fails.Run(new byte[8]));
        Assert.Equal(1, error.Pc);
        Assert.IsType<InvalidOperationException>(error.InnerException);
    }

    [Fact]
    public async Task Helper_calling_runs_stay_correct_on_several_threads_while_another_collects_garbage()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        var environment = new ProgramEnvironment();
        var garbage = new object?[64];

        // The helper allocates, so collections also start inside helper calls, beneath the run method.
        environment.Helpers.Add(1, "add_allocating", (a, b, _, _, _) =>
        {
            garbage[(int)(a & 63)] = new byte[64];
            return a + b;
        });

        // Returns to the host for each call (a loop whose every iteration calls), and the same through a local call
        // (dispatcher and GC transition): sum of 0..99 plus 100.
        var returning = EbpfProgram.Create(
            Assembler.Assemble("mov r6, 0\nmov r7, 100\nmov r1, r7\nmov r2, r6\ncall 1\nmov r7, r0\nadd r6, 1\njlt r6, 100, -6\nmov r0, r7\nexit"),
            StructuralOnlyVerifier.Instance);
        var dispatched = EbpfProgram.Create(
            Assembler.Assemble("call local f\nexit\nf:\nmov r6, 0\nmov r7, 100\nmov r1, r7\nmov r2, r6\ncall 1\nmov r7, r0\nadd r6, 1\njlt r6, 100, -6\nmov r0, r7\nexit"),
            StructuralOnlyVerifier.Instance);
        Assert.True(HelperReturnAnalysis.Applies(returning));
        Assert.False(HelperReturnAnalysis.Applies(dispatched));
        using var first = new X64Engine().Compile(returning, environment);
        using var second = new X64Engine().Compile(dispatched, environment);
        const ulong expected = 100 + (99 * 100 / 2);

        using var stop = new CancellationTokenSource();
        var collector = GarbageCollections.ForceUntil(stop.Token);

        var runners = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            var compiled = t % 2 == 0 ? first : second;
            var input = new byte[8];
            for (int i = 0; i < 5_000; i++)
            {
                Assert.Equal(expected, compiled.Run(input));
            }
        })).ToArray();
        await Task.WhenAll(runners);
        await stop.CancelAsync();
        await collector;
    }
}
