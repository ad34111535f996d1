using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// rbpf-style helpers whose delegate names one static method, which x64 calls at the method's entry point rather than
/// through the delegate (see <c>X64CompiledProgram.StaticEntry</c>): which delegates qualify, and that such a call gets
/// every argument in its place, reports the helper's exception and stops a cancelled run, on every engine.
/// </summary>
public class StaticHelperTests
{
    /// <summary>Weighs its arguments so that any one out of place shows.</summary>
    private static ulong Weigh(ulong a, ulong b, ulong c, ulong d, ulong e) => a + (b << 8) + (c << 16) + (d << 24) + (e << 32);

    private static ulong Fail(ulong a, ulong b, ulong c, ulong d, ulong e) => throw new InvalidOperationException("static helper failed");

    /// <summary>Six parameters: bound to a <see cref="HelperFunction"/> with its first argument closed over null.</summary>
    private static ulong WeighWithFirst(object? first, ulong a, ulong b, ulong c, ulong d, ulong e) => (first is null ? 1UL : 2UL) + Weigh(a, b, c, d, e);

    private static Generic<int>.Function GenericFunction => Generic<int>.Weigh;

    private static class Generic<T>
    {
        public delegate ulong Function(ulong a, ulong b, ulong c, ulong d, ulong e);

        public static ulong Weigh(ulong a, ulong b, ulong c, ulong d, ulong e) => StaticHelperTests.Weigh(a, b, c, d, e) + (ulong)typeof(T).Name.Length;
    }

    /// <summary>Five calls in a loop with r1-r5 = i, 2, 3, 4, 5; r0 = the sum of the results.</summary>
    private const string Loop = """
        mov r6, 0
        mov r7, 5
        loop:
        mov r1, r7
        mov r2, 2
        mov r3, 3
        mov r4, 4
        mov r5, 5
        call 1
        add r6, r0
        sub r7, 1
        jne r7, 0, loop
        mov r0, r6
        exit
        """;

    private static ulong ExpectedLoop(Func<ulong, ulong, ulong, ulong, ulong, ulong> helper)
    {
        ulong sum = 0;
        for (ulong i = 5; i > 0; i--)
        {
            sum += helper(i, 2, 3, 4, 5);
        }

        return sum;
    }

    private static ICompiledProgram Compile(string engine, HelperFunction helper) =>
        TestEngines.Get(engine).Compile(
            EbpfProgram.Create(Assembler.Assemble(Loop), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(new HelperTable { new Helper(1, "h", helper) }));

    [Fact]
    public void Only_a_delegate_of_one_static_non_generic_method_with_five_arguments_gives_an_entry_point()
    {
        Assert.NotEqual(0, X64CompiledProgram.StaticEntry(Weigh));
        Assert.Equal(0, X64CompiledProgram.StaticEntry((a, b, c, d, e) => a + b)); // a lambda: an instance method of a closure class
        var closed = (HelperFunction)Delegate.CreateDelegate(typeof(HelperFunction), null, typeof(StaticHelperTests).GetMethod(nameof(WeighWithFirst), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!);
        Assert.Null(closed.Target);
        Assert.Equal(0, X64CompiledProgram.StaticEntry(closed));
        Assert.Equal(0, X64CompiledProgram.StaticEntry(new HelperFunction(GenericFunction)));
        Assert.Equal(0, X64CompiledProgram.StaticEntry((HelperFunction)Delegate.Combine((HelperFunction)Weigh, (HelperFunction)Weigh)!));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_static_helper_gets_every_argument_in_its_place(string engine)
    {
        using var compiled = Compile(engine, Weigh);
        Assert.Equal(ExpectedLoop(Weigh), compiled.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Delegates_that_do_not_qualify_are_called_as_delegates(string engine)
    {
        var closed = (HelperFunction)Delegate.CreateDelegate(typeof(HelperFunction), null, typeof(StaticHelperTests).GetMethod(nameof(WeighWithFirst), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!);
        using (var compiled = Compile(engine, closed))
        {
            Assert.Equal(ExpectedLoop((a, b, c, d, e) => WeighWithFirst(null, a, b, c, d, e)), compiled.Run(new byte[8]));
        }

        using (var compiled = Compile(engine, new HelperFunction(GenericFunction)))
        {
            Assert.Equal(ExpectedLoop(Generic<int>.Weigh), compiled.Run(new byte[8]));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_static_helper_that_throws_is_reported_at_its_call(string engine)
    {
        using var compiled = Compile(engine, Fail);
        var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
        Assert.Equal(7, e.Pc);
        Assert.IsType<InvalidOperationException>(e.InnerException);
        Assert.Equal("static helper failed", e.InnerException!.Message);
    }

    private static CancellationTokenSource? cancelling;

    private static ulong CancelOnThird(ulong a, ulong b, ulong c, ulong d, ulong e)
    {
        if (a == 3)
        {
            cancelling!.Cancel();
        }

        return a;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_run_cancelled_in_a_static_helper_stops_at_its_call(string engine)
    {
        using var source = new CancellationTokenSource();
        cancelling = source;
        using var compiled = Compile(engine, CancelOnThird);
        var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run(new byte[8], source.Token));
        Assert.Contains(e.Pc, (int[])[7, 10]); // the call (x64, the interpreter) or the loop's jump (il)
    }

    /// <summary>
    /// Every register live across a helper call and across the yields of a loop without a call: r1-r8 and the stack
    /// slot at r10 - 8 are read after each call and change on each iteration; then a 100,000-iteration loop without a
    /// call (x64 yields in it) reads them all again.
    /// </summary>
    private const string EveryRegisterLive = """
        mov r1, 1
        mov r2, 2
        mov r3, 3
        mov r4, 4
        mov r5, 5
        mov r6, 6
        mov r7, 7
        mov r8, 8
        mov r9, 0
        stdw [r10-8], 100
        loop:
        call 1
        add r9, r0
        add r9, r1
        add r9, r2
        add r9, r3
        add r9, r4
        add r9, r5
        add r9, r6
        add r9, r7
        add r9, r8
        ldxdw r0, [r10-8]
        add r9, r0
        add r0, 3
        stxdw [r10-8], r0
        add r1, 1
        add r2, 2
        add r3, 3
        add r4, 4
        add r5, 5
        add r6, r1
        add r8, r6
        add r7, 1
        jlt r7, 17, loop
        mov r0, 0
        spin:
        add r9, r1
        xor r9, r2
        add r9, r3
        xor r9, r4
        add r9, r5
        xor r9, r6
        add r9, r7
        xor r9, r8
        add r0, 1
        jlt r0, 100000, spin
        ldxdw r0, [r10-8]
        add r0, r9
        exit
        """;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Every_register_survives_helper_calls_and_yields(string engine)
    {
        // By hand, the same steps.
        ulong r1 = 1, r2 = 2, r3 = 3, r4 = 4, r5 = 5, r6 = 6, r7 = 7, r8 = 8, r9 = 0, slot = 100;
        do
        {
            r9 += Weigh(r1, r2, r3, r4, r5) + r1 + r2 + r3 + r4 + r5 + r6 + r7 + r8 + slot;
            slot += 3;
            r1 += 1;
            r2 += 2;
            r3 += 3;
            r4 += 4;
            r5 += 5;
            r6 += r1;
            r8 += r6;
            r7 += 1;
        }
        while (r7 < 17);
        for (ulong i = 0; i < 100_000; i++)
        {
            r9 = ((((((((r9 + r1) ^ r2) + r3) ^ r4) + r5) ^ r6) + r7) ^ r8);
        }

        var program = EbpfProgram.Create(Assembler.Assemble(EveryRegisterLive), StructuralOnlyVerifier.Instance);
        // Structural: the program reads r1-r5 after a helper call (the engines keep them; the kernel's verifier, and the
        // default hybrid mode, refuse such a read), which is what this test is about.
        foreach (var options in new[] { TestPrograms.StructuralOnly, TestPrograms.StructuralOnly with { MemoryChecks = false } })
        {
            using var compiled = TestEngines.Get(engine).Compile(program, new ProgramEnvironment(new HelperTable { new Helper(1, "weigh", Weigh) }), options);
            Assert.Equal(slot + r9, compiled.Run(new byte[8]));
        }
    }
}
