using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using Ebpf.X64.Runtime;

namespace Ebpf.Tests.X64;

/// <summary>
/// x64 code whose helper calls return to the host leaves at a call of a static rbpf-style helper with the helper's
/// entry point itself (<see cref="CodeExit.IsHelperEntry"/>, the site in the block for the error paths) and at any
/// other exit with its site flagged (<see cref="CodeExit.SiteFlag"/>): the two never mix up, and a failure or a stop
/// in a static helper names its own call site after exits of every other kind, on every engine.
/// </summary>
public class HelperEntryExitTests
{
    private static int failAt;

    private static CancellationTokenSource? cancelling;

    /// <summary>Helper 1: r1 + 1.</summary>
    private static ulong AddOne(ulong a, ulong b, ulong c, ulong d, ulong e) => a + 1;

    /// <summary>Helper 2: r1 * 2, or an exception when r1 is <see cref="failAt"/>; cancels <see cref="cancelling"/> there when one is set.</summary>
    private static ulong DoubleOrFail(ulong a, ulong b, ulong c, ulong d, ulong e)
    {
        if (a == (ulong)failAt)
        {
            if (cancelling is { } source)
            {
                source.Cancel();
                return a * 2;
            }

            throw new InvalidOperationException($"failed at {a}");
        }

        return a * 2;
    }

    /// <summary>
    /// Per iteration (r6 = 1..5): helper 1 (static, pc 3), helper 3 (a closure, so a delegate: a flagged exit, pc 6),
    /// helper 2 (static, pc 9) with r1 = r6, then a loop of 2,000 steps without a call (x64 yields in it, a flagged
    /// exit of site -1). r7 sums the results.
    /// </summary>
    private const string Program = """
        mov r6, 1
        mov r7, 0
        loop:
        mov r1, r6
        call 1
        add r7, r0
        mov r1, r6
        call 3
        add r7, r0
        mov r1, r6
        call 2
        add r7, r0
        mov r8, 0
        spin:
        add r8, 1
        jlt r8, 2000, spin
        add r7, r8
        add r6, 1
        jle r6, 5, loop
        mov r0, r7
        exit
        """;

    /// <summary>r0 of <see cref="Program"/> worked out by hand: per r6, (r6 + 1) + (r6 + 100) + 2 * r6 + 2000.</summary>
    private static ulong Expected()
    {
        ulong sum = 0;
        for (ulong r6 = 1; r6 <= 5; r6++)
        {
            sum += r6 + 1 + r6 + 100 + (2 * r6) + 2000;
        }

        return sum;
    }

    private static ICompiledProgram Compile(string engine)
    {
        ulong offset = 100;
        var helpers = new HelperTable
        {
            new Helper(1, "add_one", AddOne),
            new Helper(2, "double_or_fail", DoubleOrFail),
            new Helper(3, "add_offset", (a, _, _, _, _) => a + offset),
        };
        return TestEngines.Get(engine).Compile(
            EbpfProgram.Create(Assembler.Assemble(Program), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(helpers));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Static_delegate_and_yield_exits_in_turn_give_the_value_computed_by_hand(string engine)
    {
        failAt = -1;
        using var compiled = Compile(engine);
        Assert.Equal(Expected(), compiled.Run(new byte[8]));
        Assert.Equal(Expected(), compiled.Run(new byte[8]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_static_helper_that_throws_after_other_exits_is_reported_at_its_own_call(string engine)
    {
        failAt = 4;
        using var compiled = Compile(engine);
        var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
        Assert.Equal(9, e.Pc);
        Assert.Equal("failed at 4", e.InnerException!.Message);
        failAt = -1;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_run_cancelled_in_a_static_helper_after_other_exits_stops_at_its_call(string engine)
    {
        using var source = new CancellationTokenSource();
        cancelling = source;
        failAt = 3;
        try
        {
            using var compiled = Compile(engine);
            var e = Assert.Throws<EbpfRunCancelledException>(() => compiled.Run(new byte[8], source.Token));
            Assert.Equal(9, e.Pc);
        }
        finally
        {
            cancelling = null;
            failAt = -1;
        }
    }

    [Fact]
    public void A_static_entry_point_is_a_helper_entry_and_a_flagged_site_is_not()
    {
        nint entry = X64CompiledProgram.StaticEntry(AddOne);
        Assert.NotEqual(0, entry);
        Assert.True(Exit((ulong)entry, 1).IsHelperEntry);
        foreach (int site in (int[])[-2, -1, 0, 1, 4095, int.MaxValue])
        {
            var exit = Exit(CodeExit.SiteFlag | (uint)site, 1);
            Assert.False(exit.IsHelperEntry);
            Assert.Equal(site, exit.Site);
        }
    }

    [Fact]
    public void The_helper_loop_is_optimized_from_its_first_call()
    {
        var method = typeof(X64CompiledProgram).GetMethod("ContinueWithHelpers", BindingFlags.NonPublic | BindingFlags.Instance)!;
        Assert.True(method.MethodImplementationFlags.HasFlag(MethodImplAttributes.AggressiveOptimization));
        Assert.True(method.MethodImplementationFlags.HasFlag(MethodImplAttributes.NoInlining));
    }

    /// <summary>A <see cref="CodeExit"/> as the code returns it: <paramref name="value"/> in rax, <paramref name="resume"/> in rdx.</summary>
    private static CodeExit Exit(ulong value, nint resume)
    {
        var pair = new Registers { Rax = value, Rdx = resume };
        return Unsafe.As<Registers, CodeExit>(ref pair);
    }

    /// <summary>rax and rdx, in the order of the ABI's 16-byte result.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Registers
    {
        public ulong Rax;
        public nint Rdx;
    }
}
