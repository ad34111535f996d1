using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using Ebpf.X64.Runtime;

namespace Ebpf.Tests.X64;

/// <summary>
/// rbpf-style helpers whose delegate names one instance method (lambdas, closures, methods of a class), which x64 calls
/// at the method's entry point with the delegate's target as its first argument rather than through the delegate (see
/// <c>X64CompiledProgram.InstanceEntry</c>): which delegates qualify, and that such a call reaches the right target
/// with every argument in its place, across collections, and reports the helper's exception and a cancellation, on
/// every engine.
/// </summary>
public class InstanceHelperTests
{
    /// <summary>A target whose method weighs its arguments and adds the target's own tag, so a wrong target shows.</summary>
    private sealed class Tagged(ulong tag)
    {
        public ulong Calls;

        public ulong Weigh(ulong a, ulong b, ulong c, ulong d, ulong e)
        {
            Calls++;
            return tag + a + (b << 8) + (c << 16) + (d << 24) + (e << 32);
        }

        /// <summary><see cref="Weigh"/> after a full, compacting collection: the target may have moved meanwhile.</summary>
        public ulong WeighAfterCollecting(ulong a, ulong b, ulong c, ulong d, ulong e)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            return Weigh(a, b, c, d, e);
        }
    }

    private class Base
    {
        public virtual ulong Weigh(ulong a, ulong b, ulong c, ulong d, ulong e) => 1;
    }

    private sealed class Derived : Base
    {
        public override ulong Weigh(ulong a, ulong b, ulong c, ulong d, ulong e) => 1000 + a + b + c + d + e;
    }

    private struct Value(ulong tag)
    {
        public readonly ulong Weigh(ulong a, ulong b, ulong c, ulong d, ulong e) => tag + a + b + c + d + e;
    }

    private sealed class Generic<T>(ulong tag)
    {
        public ulong Weigh(ulong a, ulong b, ulong c, ulong d, ulong e) => tag + (ulong)typeof(T).Name.Length + a + b + c + d + e;
    }

    private static ulong Static(ulong a, ulong b, ulong c, ulong d, ulong e) => a;

    /// <summary>
    /// Five calls of helper 1 and five of helper 2 in a loop with r1-r5 = i, 2, 3, 4, 5; r0 = the sum of the results.
    /// </summary>
    private const string TwoSiteLoop = """
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
        mov r1, r7
        mov r2, 2
        mov r3, 3
        mov r4, 4
        mov r5, 5
        call 2
        add r6, r0
        sub r7, 1
        jne r7, 0, loop
        mov r0, r6
        exit
        """;

    private static ulong ExpectedLoop(HelperFunction first, HelperFunction second)
    {
        ulong sum = 0;
        for (ulong i = 5; i > 0; i--)
        {
            sum += first(i, 2, 3, 4, 5) + second(i, 2, 3, 4, 5);
        }

        return sum;
    }

    private static ICompiledProgram Compile(string engine, HelperFunction first, HelperFunction second) =>
        TestEngines.Get(engine).Compile(
            EbpfProgram.Create(Assembler.Assemble(TwoSiteLoop), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(new HelperTable { new Helper(1, "first", first), new Helper(2, "second", second) }));

    [Fact]
    public void Only_a_delegate_of_one_non_virtual_instance_method_of_a_class_gives_an_instance_entry()
    {
        ulong captured = 3;
        var tagged = new Tagged(1);
        Assert.NotEqual(0, X64CompiledProgram.InstanceEntry(static (a, _, _, _, _) => a + 1)); // a method of the lambdas' class
        Assert.NotEqual(0, X64CompiledProgram.InstanceEntry((a, _, _, _, _) => a + captured)); // a closure's
        Assert.NotEqual(0, X64CompiledProgram.InstanceEntry(tagged.Weigh));

        Assert.Equal(0, X64CompiledProgram.InstanceEntry(Static));
        Assert.Equal(0, X64CompiledProgram.InstanceEntry(new Derived().Weigh)); // virtual: the entry would be the declaration's
        Assert.Equal(0, X64CompiledProgram.InstanceEntry(new Value(2).Weigh)); // a struct's method takes a reference, not the box
        Assert.Equal(0, X64CompiledProgram.InstanceEntry(new Generic<string>(9).Weigh));
        Assert.Equal(0, X64CompiledProgram.InstanceEntry((HelperFunction)Delegate.Combine((HelperFunction)tagged.Weigh, (HelperFunction)tagged.Weigh)!));

        // The entry the code leaves with: a static method's as it is, an instance method's flagged, else none.
        Assert.Equal(X64CompiledProgram.StaticEntry(Static), X64CompiledProgram.HelperEntry(Static));
        nint instance = X64CompiledProgram.HelperEntry(tagged.Weigh);
        Assert.Equal(CodeExit.InstanceFlag | CodeExit.SiteFlag, (ulong)instance & (CodeExit.InstanceFlag | CodeExit.SiteFlag));
        Assert.Equal(X64CompiledProgram.InstanceEntry(tagged.Weigh), (nint)((ulong)instance & ~(CodeExit.InstanceFlag | CodeExit.SiteFlag)));
        Assert.Equal(0, X64CompiledProgram.HelperEntry(new Derived().Weigh));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Each_call_site_reaches_its_own_target_with_every_argument_in_its_place(string engine)
    {
        // Two targets of one class at two sites: a call that passed the wrong target, or none, would add the wrong tag.
        var first = new Tagged(1_000_000_000_000);
        var second = new Tagged(7_000_000_000_000);
        using var compiled = Compile(engine, first.Weigh, second.Weigh);
        ulong expected = ExpectedLoop(new Tagged(1_000_000_000_000).Weigh, new Tagged(7_000_000_000_000).Weigh);
        Assert.Equal(expected, compiled.Run(new byte[8]));
        Assert.Equal(5UL, first.Calls);
        Assert.Equal(5UL, second.Calls);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Lambdas_closures_and_delegates_that_do_not_qualify_give_the_same_results(string engine)
    {
        ulong captured = 11;
        HelperFunction closure = (a, b, c, d, e) => (a * captured) + b + c + d + e;
        HelperFunction lambda = static (a, b, _, _, e) => (a << 4) ^ b ^ e;
        var pairs = new (HelperFunction First, HelperFunction Second)[]
        {
            (closure, lambda),
            (new Derived().Weigh, new Value(5).Weigh),
            (new Generic<string>(9).Weigh, Static),
        };
        foreach (var (first, second) in pairs)
        {
            using var compiled = Compile(engine, first, second);
            Assert.Equal(ExpectedLoop(first, second), compiled.Run(new byte[8]));
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_target_is_found_after_collections_that_move_it(string engine)
    {
        // The helper collects (compacting) in every call; the code keeps no reference, the host passes the target anew.
        var first = new Tagged(1 << 20);
        var second = new Tagged(3 << 20);
        using var compiled = Compile(engine, first.WeighAfterCollecting, second.WeighAfterCollecting);
        ulong expected = ExpectedLoop(new Tagged(1 << 20).Weigh, new Tagged(3 << 20).Weigh);
        for (int round = 0; round < 3; round++)
        {
            Assert.Equal(expected, compiled.Run(new byte[8]));
        }

        Assert.Equal(15UL, first.Calls);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_lambda_that_throws_is_reported_at_its_call(string engine)
    {
        using var compiled = Compile(engine, static (a, _, _, _, _) => a, static (_, _, _, _, _) => throw new InvalidOperationException("lambda failed"));
        var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
        Assert.Equal(14, e.Pc);
        Assert.IsType<InvalidOperationException>(e.InnerException);
        Assert.Equal("lambda failed", e.InnerException!.Message);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_run_cancelled_in_a_lambda_stops_at_its_call(string engine)
    {
        using var source = new CancellationTokenSource();
        using var compiled = Compile(engine, (a, _, _, _, _) =>
        {
            if (a == 3)
            {
                source.Cancel();
            }

            return a;
        }, static (a, _, _, _, _) => a);
        var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run(new byte[8], source.Token));
        Assert.Contains(e.Pc, (int[])[7, 14, 17]); // the call (x64, the interpreter), the next call or the loop's jump (il)
    }

    [Fact]
    public void The_x64_code_leaves_with_the_instance_entry_of_a_lambda()
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        // The sites' entries as compiled: a lambda's call leaves with its instance entry, a virtual method's with none.
        HelperFunction lambda = static (a, _, _, _, _) => a;
        using var compiled = (X64CompiledProgram)new X64Engine().Compile(
            EbpfProgram.Create(Assembler.Assemble(TwoSiteLoop), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(new HelperTable { new Helper(1, "first", lambda), new Helper(2, "second", new Derived().Weigh) }));
        var entries = compiled.HelperSiteEntries;
        Assert.Equal(2, entries.Count);
        Assert.Equal(X64CompiledProgram.HelperEntry(lambda), entries[0]);
        Assert.NotEqual(0, entries[0]);
        Assert.Equal(0, entries[1]);
    }
}
