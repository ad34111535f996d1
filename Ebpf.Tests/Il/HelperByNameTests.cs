using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Il;
using Ebpf.Tests.Engines;

namespace Ebpf.Tests.Il;

/// <summary>
/// The IL engine calls an rbpf-style helper by name when its delegate names one method it may call itself (see
/// <c>HelperMethods.CallableByName</c>), so that RyuJIT compiles the call as a C# call (and inlines a small helper), and
/// through the delegate otherwise. Results for every kind of delegate are in StaticHelperTests and InstanceHelperTests
/// (every engine); here, which call the code makes, and that both give the hand-computed result.
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
}
