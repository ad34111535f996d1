using System.Runtime.CompilerServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using Ebpf.X64.Compiler;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>
/// Helper calls from local functions on x64 return to the host like those of one-function code (see
/// <see cref="HelperReturnAnalysis"/>): the code leaves with the native frames of its live local calls moved to the
/// run's frame save area, and a local function whose frame is there returns through it (X64Compiler.NestedFrames.cs).
/// Each program mixes the registers and the stack of every frame into its result, so a frame restored at the wrong
/// depth, or with another frame's registers, changes it; the expected values are worked out here by hand, and every
/// engine must give them.
/// </summary>
public class LocalFunctionHelperReturnTests
{
    /// <summary>Helper 1 (static, so x64 leaves with its entry point): 7a + 3.</summary>
    private static ulong Seven(ulong a, ulong b, ulong c, ulong d, ulong e) => (a * 7) + 3;

    private static EbpfProgram Parse(string source) => EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);

    /// <summary>Helper 1: 7a + 3, static (an entry point the code leaves with) or a closure (a delegate the host calls).</summary>
    private static ProgramEnvironment SevenEnvironment(bool staticHelper)
    {
        var environment = new ProgramEnvironment();
        int calls = 0;
        environment.Helpers.Add(1, "seven", staticHelper ? Seven : (a, _, _, _, _) =>
        {
            calls++;
            return (a * 7) + 3;
        });
        return environment;
    }

    private static ulong H(ulong a) => (a * 7) + 3;

    /// <summary>
    /// f(n) at depth n + 1: r6-r9 and a stack slot of its own set, a helper call, then (n &gt; 0) f(n - 1) and a helper
    /// call on its result, then everything of its frame added up. The nested call is at pc 15.
    /// </summary>
    private static string Recursion(int n) => $"""
        mov r1, {n}
        call local f
        exit
        f:
        mov r6, r1
        mov r8, r1
        mul r8, 3
        mov r9, r1
        xor r9, 5
        stxdw [r10-8], r6
        mov r1, r6
        call 1
        mov r7, r0
        jeq r6, 0, leaf
        mov r1, r6
        sub r1, 1
        call local f
        mov r1, r0
        call 1
        mul r0, 31
        add r0, r7
        ldxdw r2, [r10-8]
        add r0, r2
        add r0, r8
        add r0, r9
        exit
        leaf:
        mov r0, r7
        add r0, r8
        exit
        """;

    private static ulong ExpectedRecursion(ulong n)
    {
        ulong r7 = H(n);
        ulong r8 = n * 3;
        ulong r9 = n ^ 5;
        return n == 0 ? r7 + r8 : (H(ExpectedRecursion(n - 1)) * 31) + r7 + n + r8 + r9;
    }

    [Fact]
    public void Programs_with_local_calls_and_a_helper_call_qualify_and_count_their_local_calls()
    {
        var local = HelperReturnAnalysis.Plan(Parse(Recursion(3)), maxCallDepth: 8)!;
        Assert.True(local.CountsCalls);
        Assert.False(local.Yields); // its only loop is a recursion, which the count of local calls bounds
        Assert.Equal(HelperReturnAnalysis.MaxStretch / (28 * 8), local.CallInterval); // 28 slots, 8 frames at most

        // A loop through a local call is no loop without a call (the call is counted); one without is.
        Assert.False(HelperReturnAnalysis.Plan(Parse("call 1\nmov r6, 3\ncall local f\nsub r6, 1\njne r6, 0, -3\nexit\nf:\nmov r0, 0\nexit"))!.Yields);
        Assert.True(HelperReturnAnalysis.Plan(Parse("call 1\ncall local f\nexit\nf:\nmov r6, 3\nsub r6, 1\njne r6, 0, -2\nexit"))!.Yields);

        // Not: local calls without a helper call, a call of the entry function, callbacks.
        Assert.Null(HelperReturnAnalysis.Plan(Parse("call local f\nexit\nf:\nmov r0, 0\nexit")));
        Assert.Null(HelperReturnAnalysis.Plan(Parse("jeq r1, 0, +2\ncall 1\ncall local -3\nexit")));
        var callback = Program(
            I(OpCodes.Mov64Imm, 1, imm: 3),
            new Instruction[] { new(OpCodes.Lddw, 2, (byte)LddwSource.CodeAddress, 0, 5), new(0, 0, 0, 0, 0) },
            I(OpCodes.Mov64Imm, 3, imm: 0),
            I(OpCodes.Mov64Imm, 4, imm: 0),
            I(OpCodes.Call, imm: 181),
            I(OpCodes.Exit),
            I(OpCodes.Mov64Imm, 0, imm: 0),
            I(OpCodes.Exit));
        Assert.True(callback.HasCallbacks);
        Assert.Null(HelperReturnAnalysis.Plan(callback));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Recursion_with_helper_calls_at_every_depth_keeps_every_frame(string engine)
    {
        foreach (bool staticHelper in (bool[])[true, false])
        {
            var environment = SevenEnvironment(staticHelper);
            for (int n = 0; n <= 6; n++)
            {
                using var compiled = TestEngines.Get(engine).Compile(Parse(Recursion(n)), environment);
                Assert.Equal(ExpectedRecursion((ulong)n), compiled.Run(new byte[8]));
                Assert.Equal(ExpectedRecursion((ulong)n), compiled.Run(new byte[8]));
            }

            // One frame more than the eight the options allow: the nested call at pc 15 stops the run.
            using var deep = TestEngines.Get(engine).Compile(Parse(Recursion(7)), environment);
            var error = Assert.Throws<EbpfCallDepthExceededException>(() => deep.Run(new byte[8]));
            Assert.Equal(15, error.Pc);
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_deepest_recursion_the_options_allow_saves_and_restores_all_its_frames(string engine)
    {
        // 64 frames: f(62) runs at depth 63, the most a run can have live below its entry function.
        var options = new ExecutionOptions { MaxCallDepth = 64 };
        using var compiled = TestEngines.Get(engine).Compile(Parse(Recursion(62)), SevenEnvironment(staticHelper: true), options);
        Assert.Equal(ExpectedRecursion(62), compiled.Run(new byte[8]));
        using var deeper = TestEngines.Get(engine).Compile(Parse(Recursion(63)), SevenEnvironment(staticHelper: true), options);
        Assert.Equal(15, Assert.Throws<EbpfCallDepthExceededException>(() => deeper.Run(new byte[8])).Pc);
    }

    /// <summary>
    /// 200 rounds of: g (depth 1), a helper call in the entry function, f (depth 1), which calls a helper and g (depth 2):
    /// g runs at two depths, and 600 local calls make x64 yield at some of them (in f too, with a frame live).
    /// </summary>
    private const string Between = """
        mov r6, 0
        mov r7, 0
        loop:
        mov r1, r6
        call local g
        add r7, r0
        mov r1, r7
        call 1
        mov r7, r0
        mov r1, r6
        call local f
        add r7, r0
        and r7, 0xffffff
        add r6, 1
        jlt r6, 200, loop
        mov r0, r7
        exit
        f:
        mov r6, r1
        call 1
        mov r1, r0
        call local g
        add r0, r6
        exit
        g:
        mov r6, r1
        mov r1, r6
        call 1
        mov r1, r0
        call 1
        add r0, r6
        exit
        """;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Helper_calls_between_local_calls_and_a_function_called_at_two_depths_keep_their_registers(string engine)
    {
        var program = Parse(Between);
        Assert.True(HelperReturnAnalysis.Plan(program)!.CallInterval < 600 / 3, "x64 yields at some local calls");
        foreach (bool staticHelper in (bool[])[true, false])
        {
            using var compiled = TestEngines.Get(engine).Compile(program, SevenEnvironment(staticHelper));
            Assert.Equal(Expected(), compiled.Run(new byte[8]));
            Assert.Equal(Expected(), compiled.Run(new byte[8]));
        }

        static ulong Expected()
        {
            static ulong G(ulong a) => H(H(a)) + a;
            static ulong F(ulong a) => G(H(a)) + a;
            ulong r7 = 0;
            for (ulong i = 0; i < 200; i++)
            {
                r7 += G(i);
                r7 = H(r7);
                r7 += F(i);
                r7 &= 0xffffff;
            }

            return r7;
        }
    }

    /// <summary>With r1 = <paramref name="x"/>, a (depth 1) calls b (depth 2), which calls helper 1 and c (depth 3), which
    /// calls helpers 1, 2 (with a context: stops the run with 99 at r1 = 14, throws at 13; pc 19) and 3 (static: throws
    /// at 15; pc 22).</summary>
    private static string ThreeDeep(int x) => $"mov r1, {x}\n" + """
        call local a
        exit
        a:
        mov r6, r1
        call local b
        add r0, r6
        exit
        b:
        mov r6, r1
        mov r1, r6
        call 1
        mov r1, r6
        call local c
        add r0, r6
        exit
        c:
        mov r6, r1
        mov r1, r6
        call 1
        mov r7, r0
        mov r1, r6
        call 2
        mov r8, r0
        mov r1, r6
        call 3
        add r0, r7
        add r0, r8
        add r0, r6
        exit
        """;

    /// <summary>Helper 3: 2a, or an exception at 15.</summary>
    private static ulong DoubleOrThrow(ulong a, ulong b, ulong c, ulong d, ulong e) =>
        a == 15 ? throw new InvalidOperationException("fifteen") : a * 2;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_helper_that_throws_or_stops_at_depth_three_ends_the_run_and_the_next_run_is_whole(string engine)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "seven", Seven);
        environment.Helpers.Add(2, "stop_or_throw", (HelperContext context, ulong a, ulong _, ulong _, ulong _, ulong _) =>
        {
            if (a == 13)
            {
                throw new ArgumentException("thirteen");
            }

            if (a == 14)
            {
                context.Stop(99);
            }

            return a + 100;
        });
        environment.Helpers.Add(3, "double_or_throw", DoubleOrThrow);
        static ulong Expected(ulong x) => (x * 2) + H(x) + (x + 100) + x + x + x;
        var compiled = new Dictionary<int, ICompiledProgram>();
        try
        {
            foreach (int x in (int[])[5, 13, 14, 15, 6])
            {
                compiled[x] = TestEngines.Get(engine).Compile(Parse(ThreeDeep(x)), environment);
            }

            // Each program runs twice, after runs of the others that failed or stopped with frames saved.
            for (int round = 0; round < 2; round++)
            {
                Assert.Equal(Expected(5), compiled[5].Run(new byte[8]));
                var thrown = Assert.Throws<EbpfHelperException>(() => compiled[13].Run(new byte[8]));
                Assert.Equal(19, thrown.Pc);
                Assert.IsType<ArgumentException>(thrown.InnerException);
                Assert.Equal(99UL, compiled[14].Run(new byte[8]));
                var failed = Assert.Throws<EbpfHelperException>(() => compiled[15].Run(new byte[8]));
                Assert.Equal(22, failed.Pc);
                Assert.IsType<InvalidOperationException>(failed.InnerException);
                Assert.Equal(Expected(6), compiled[6].Run(new byte[8]));
            }
        }
        finally
        {
            foreach (var program in compiled.Values)
            {
                program.Dispose();
            }
        }
    }

    /// <summary>
    /// Endless loops in a local function (depth 2), each storing 1 into the input's first byte: one that calls a helper
    /// on every iteration, one that calls none (after a helper call), and one in the entry function whose only call on
    /// the loop is a local call (x64 counts those and polls where the count runs out).
    /// </summary>
    public static TheoryData<string, string> CancelledLoops()
    {
        var data = new TheoryData<string, string>();
        string[] loops =
        [
            "call local f\nexit\nf:\ncall local g\nexit\ng:\nmov r6, r1\nmov r7, 1\nstxb [r6+0], r7\nmov r1, r7\ncall 1\nja -4\nexit",
            "call local f\nexit\nf:\ncall local g\nexit\ng:\nmov r6, r1\nmov r1, 2\ncall 1\nmov r7, 1\nstxb [r6+0], r7\nja -2\nexit",
            "mov r6, r1\nmov r1, 2\ncall 1\nmov r7, 1\nstxb [r6+0], r7\ncall local f\nja -3\nexit\nf:\nmov r0, 1\nexit",
        ];
        foreach (var engine in TestEngines.All)
        {
            foreach (var loop in loops)
            {
                data.Add(engine.Name, loop);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CancelledLoops))]
    public async Task An_endless_loop_in_or_through_a_local_function_stops_when_cancelled(string engine, string source)
    {
        var program = Parse(source);
        Assert.NotNull(HelperReturnAnalysis.Plan(program));
        using var compiled = TestEngines.Get(engine).Compile(program, SevenEnvironment(staticHelper: true));
        var error = await StoreThenCancel.Run(compiled);
        Assert.InRange(error.Pc, 0, program.Length - 1);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_tail_call_from_a_local_function_after_a_helper_call_ends_the_run_in_its_target(string engine)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.Helpers.Add(1000, "seven", Seven);
        using var programs = new ProgramArrayMap("programs", 8);
        Assert.Equal(0, environment.AddMap(programs));
        using var target = TestEngines.Get(engine).Compile(Parse("ldxb r0, [r1]\nadd r0, 500\nexit"), environment);
        programs.Set(0, target);

        // pc 1 calls f (pc 4), which calls helper 1000 (its frame saved on x64), then tail-calls slot `index`: the target
        // returns the context's first byte + 500; an empty slot falls through (r0 = -ENOENT) to r0 + 77, + 1000 in the entry.
        EbpfProgram Caller(int index) => Program(
            I(OpCodes.Mov64Reg, 6, 1),
            new Instruction(OpCodes.Call, 0, 1, 0, 2),
            I(OpCodes.Add64Imm, 0, imm: 1000),
            I(OpCodes.Exit),
            I(OpCodes.Mov64Imm, 1, imm: 5),
            I(OpCodes.Call, imm: 1000),
            I(OpCodes.Mov64Reg, 1, 6),
            TailCallThroughMap0(index),
            I(OpCodes.Add64Imm, 0, imm: 77),
            I(OpCodes.Exit));
        var entered = Caller(0);
        Assert.NotNull(HelperReturnAnalysis.Plan(entered));
        using var enters = TestEngines.Get(engine).Compile(entered, environment);
        using var fallsThrough = TestEngines.Get(engine).Compile(Caller(7), environment);
        for (int round = 0; round < 2; round++)
        {
            Assert.Equal(0x21UL + 500, enters.Run([0x21]));
            Assert.Equal(unchecked((ulong)-2L + 77 + 1000), fallsThrough.Run([0x21]));
        }
    }
}
