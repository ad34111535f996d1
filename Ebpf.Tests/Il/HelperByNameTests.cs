using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Il;
using Ebpf.Tests.Engines;

namespace Ebpf.Tests.Il;

/// <summary>
/// The IL engine calls an rbpf-style helper by name when its delegate names one method it may call itself (see
/// <c>HelperMethods.CallableByName</c>), so that RyuJIT compiles the call as a C# call (and inlines a small helper), and
/// through the delegate otherwise; a helper that takes a context goes through the common helper call. Results for every
/// kind of rbpf-style delegate are in StaticHelperTests and InstanceHelperTests (every engine); here, which call the code
/// makes, and that it gives the hand-computed result, error (at its own pc), stop or cancellation.
/// </summary>
public class HelperByNameTests
{
    private static ulong Weigh(ulong a, ulong b, ulong c, ulong d, ulong e) => (a * 3) + b;

    private sealed class Counter
    {
        public ulong Calls;

        public ulong Count(ulong a, ulong b, ulong c, ulong d, ulong e) => a + ++Calls;
    }

    private static IlCompiledProgram Compile(HelperFunction helper) =>
        (IlCompiledProgram)new IlEngine { RecordIlListing = true }.Compile(
            EbpfProgram.Create(Assembler.Assemble("mov r6, 4\nmov r0, 1\nloop:\nmov r1, r0\nmov r2, r6\ncall 1\nsub r6, 1\njne r6, 0, loop\nexit"), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(new HelperTable { new Helper(1, "h", helper) }));

    [Fact]
    public void A_static_method_and_an_instance_method_are_called_by_name()
    {
        using (var compiled = Compile(Weigh))
        {
            Assert.Contains("call HelperByNameTests::Weigh\n", compiled.IlListing);
            Assert.DoesNotContain("Invoke", compiled.IlListing);
            Assert.Equal(Weigh(Weigh(Weigh(Weigh(1, 4, 0, 0, 0), 3, 0, 0, 0), 2, 0, 0, 0), 1, 0, 0, 0), compiled.Run(new byte[8]));
        }

        var counter = new Counter();
        using (var compiled = Compile(counter.Count))
        {
            Assert.Contains("call Counter::Count\n", compiled.IlListing);
            Assert.Equal(1UL + 1 + 2 + 3 + 4, compiled.Run(new byte[8]));
            Assert.Equal(4UL, counter.Calls);
        }
    }

    [Fact]
    public void A_multicast_delegate_is_called_as_a_delegate()
    {
        var counter = new Counter();
        using var compiled = Compile((HelperFunction)Delegate.Combine((HelperFunction)Weigh, (HelperFunction)counter.Count)!);
        Assert.Contains("callvirt HelperFunction::Invoke\n", compiled.IlListing);
        Assert.Equal(1UL + 1 + 2 + 3 + 4, compiled.Run(new byte[8])); // the last function's result
        Assert.Equal(4UL, counter.Calls);
    }

    private static IlCompiledProgram CompileContext(string source, params Helper[] helpers)
    {
        var table = new HelperTable();
        foreach (var helper in helpers)
        {
            table.Add(helper);
        }

        return (IlCompiledProgram)new IlEngine { RecordIlListing = true }.Compile(
            EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance), new ProgramEnvironment(table));
    }

    [Fact]
    public void A_context_helper_goes_through_the_common_call_with_its_own_pc()
    {
        // pc 2 and pc 5 call helpers 1 and 2, each summing input bytes through its context's checked view.
        const string Source = "mov r6, r1\nmov r2, 8\ncall 1\nmov r1, r6\nmov r2, 4\ncall 2\nadd r0, r6\nexit";
        var first = new Helper(1, "sum", static (HelperContext context, ulong a, ulong b, ulong _, ulong _, ulong _) => X64.OwnHelperLoopTests.Sum(context, a, b));
        using (var compiled = CompileContext(Source.Replace("add r0, r6", "mov r0, r0", StringComparison.Ordinal), first, new Helper(2, "sum again", static (HelperContext context, ulong a, ulong b, ulong _, ulong _, ulong _) => X64.OwnHelperLoopTests.Sum(context, a, b) * 100)))
        {
            // Not by name: the context (a struct with object references) would be a local of the program's method, zeroed
            // in its prolog on every run; kernel programs measured slower that way (xdp_stats 39-42 -> 47-49 ns).
            Assert.Contains("call IlRuntime::CallHelper\n", compiled.IlListing);
            Assert.Equal((1UL + 2 + 3 + 4) * 100, compiled.Run([1, 2, 3, 4, 5, 6, 7, 8]));
        }

        // The second call's failure and its context's refused access name pc 5 and helper 2.
        using (var compiled = CompileContext(Source, first, new Helper(2, "fails", static (HelperContext _, ulong _, ulong _, ulong _, ulong _, ulong _) => throw new FormatException("second"))))
        {
            var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
            Assert.Equal(5, e.Pc);
            Assert.Equal(2UL, e.HelperId);
            Assert.IsType<FormatException>(e.InnerException);
        }

        using (var compiled = CompileContext(Source.Replace("mov r2, 4", "mov r2, 9", StringComparison.Ordinal), first, new Helper(2, "sum too", static (HelperContext context, ulong a, ulong b, ulong _, ulong _, ulong _) => X64.OwnHelperLoopTests.Sum(context, a, b))))
        {
            Assert.Equal(5, Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[8])).Pc);
        }
    }

    [Fact]
    public void A_context_helper_stops_the_run_and_sees_it_cancelled()
    {
        const string Countdown = "mov r6, 5\nloop:\nmov r1, r6\ncall 1\nsub r6, 1\njne r6, 0, loop\nexit";
        int calls = 0;
        using (var compiled = CompileContext(Countdown, new Helper(1, "stop", (HelperContext context, ulong a, ulong _, ulong _, ulong _, ulong _) =>
        {
            calls++;
            if (a == 3)
            {
                context.Stop(777);
            }

            return a;
        })))
        {
            Assert.Equal(777UL, compiled.Run(new byte[8]));
            Assert.Equal(3, calls);
        }

        using var source = new CancellationTokenSource();
        calls = 0;
        using (var compiled = CompileContext(Countdown, new Helper(1, "cancel", (HelperContext _, ulong a, ulong _, ulong _, ulong _, ulong _) =>
        {
            calls++;
            if (a == 4)
            {
                source.Cancel();
            }

            return a;
        })))
        {
            var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run(new byte[8], source.Token));
            Assert.Equal(2, e.Pc);
            Assert.Equal(2, calls);
        }
    }
}
