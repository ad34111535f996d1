using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.X64;

/// <summary>Errors raised inside generated code (at any call depth) reach the caller as exceptions; the process and the
/// compiled program keep working.</summary>
public class SurvivalTests
{
    /// <summary>
    /// Entry: r6 = 3, call f. f (pc 3): if r6 == 0 -> pc 8; r6 -= 1; call f; exit. pc 8: ldxdw r0, [r1+0]; call 1; exit.
    /// The load and the helper run three calls deep.
    /// </summary>
    private static EbpfProgram Deep() => Program(
        I(OpCodes.Mov64Imm, 6, imm: 3),
        I(OpCodes.Call, 0, 1, 0, 1),          // pc 1 -> pc 3
        I(OpCodes.Exit),
        I(OpCodes.JeqImm, 6, 0, 3, 0),         // pc 3 -> pc 7
        I(OpCodes.Add64Imm, 6, imm: -1),
        I(OpCodes.Call, 0, 1, 0, -3),          // pc 5 -> pc 3
        I(OpCodes.Exit),
        I(OpCodes.LdxDW, 0, 1, 0),             // pc 7
        I(OpCodes.Mov64Reg, 1, 0),
        I(OpCodes.Call, imm: 1),               // pc 9
        I(OpCodes.Exit));

    private static ProgramEnvironment Environment(Func<ulong, ulong> helper)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "check", (a, _, _, _, _) => helper(a));
        return environment;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public unsafe void A_memory_violation_deep_in_local_calls_is_reported_and_the_program_runs_again(string engine)
    {
        using var compiled = (CompiledProgram)TestEngines.Get(engine).Compile(Deep(), Environment(a => a + 1));
        var small = GC.AllocateArray<byte>(4, pinned: true);
        fixed (byte* p = small)
        {
            byte* address = p;
            var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(address, 4, null, 0));
            Assert.Equal(7, e.Pc);
            Assert.Equal(RuntimeErrorKind.MemoryAccessViolation, e.Kind);
            Assert.Equal((ulong)address, e.Address);
            Assert.Equal(8UL, e.Size);
            Assert.Equal(MemoryAccessKind.Read, e.Access);
        }

        Assert.Equal(0x0807060504030201UL + 1, compiled.Run([1, 2, 3, 4, 5, 6, 7, 8]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_throwing_helper_deep_in_local_calls_becomes_a_helper_error_and_the_program_runs_again(string engine)
    {
        var boom = new InvalidOperationException("boom");
        using var compiled = TestEngines.Get(engine).Compile(Deep(), Environment(a => a == 0 ? throw boom : a * 2));
        var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(new byte[8]));
        Assert.Equal(9, e.Pc);
        Assert.Equal(RuntimeErrorKind.HelperFailed, e.Kind);
        Assert.Same(boom, e.InnerException);
        Assert.Equal(1UL, e.HelperId);
        Assert.Equal(2UL * 0x0101010101010101, compiled.Run([1, 1, 1, 1, 1, 1, 1, 1]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_helper_raising_a_runtime_error_passes_it_through(string engine)
    {
        // The helper reads 16 bytes at its argument through the context: outside the 8-byte input.
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "read16", (HelperContext context, ulong a, ulong _, ulong _, ulong _, ulong _) => (ulong)context.GetMemory(a, 16, MemoryAccessKind.Read).Length);
        var program = Program(I(OpCodes.Call, imm: 1), I(OpCodes.Exit));
        using var compiled = TestEngines.Get(engine).Compile(program, environment);
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[8]));
        Assert.Equal(0, e.Pc);
        Assert.Equal(16UL, e.Size);
        Assert.Equal(16UL, compiled.Run(new byte[16]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Thousands_of_failing_runs_leave_the_process_healthy(string engine)
    {
        var environment = Environment(a => a == 1 ? throw new ArgumentException("one") : a);
        using var compiled = TestEngines.Get(engine).Compile(Deep(), environment);
        for (int i = 0; i < 2000; i++)
        {
            switch (i % 3)
            {
                case 0:
                    Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[7]));
                    break;
                case 1:
                    Assert.Throws<EbpfHelperException>(() => compiled.Run([1, 0, 0, 0, 0, 0, 0, 0]));
                    break;
                default:
                    Assert.Equal((ulong)i, compiled.Run(BitConverter.GetBytes((ulong)i)));
                    break;
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Exceeding_the_call_depth_is_reported_at_the_call(string engine)
    {
        // Deep() needs 5 frames (entry + 4 calls); allow 4.
        using var compiled = TestEngines.Get(engine).Compile(Deep(), Environment(a => a), new ExecutionOptions { MaxCallDepth = 4 });
        var e = Assert.Throws<EbpfCallDepthExceededException>(() => compiled.Run(new byte[8]));
        Assert.Equal(5, e.Pc);
        Assert.Equal(4, e.MaxDepth);
        using var enough = TestEngines.Get(engine).Compile(Deep(), Environment(a => a), new ExecutionOptions { MaxCallDepth = 5 });
        Assert.Equal(0x2aUL, enough.Run([0x2a, 0, 0, 0, 0, 0, 0, 0]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_helper_may_run_the_same_compiled_program_again_on_the_same_thread(string engine)
    {
        // n = the u64 input; r0 = n == 0 ? 0 : n + helper(n), where the helper runs this same program on n - 1
        // (a nested run on the same thread while the outer run waits in the helper).
        ICompiledProgram? self = null;
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "again", (a, _, _, _, _) =>
        {
            if (a == 3)
            {
                throw new InvalidOperationException("three");
            }

            return self!.Run(BitConverter.GetBytes(a - 1));
        });
        var program = Program(
            I(OpCodes.LdxDW, 6, 1, 0),
            I(OpCodes.Mov64Imm, 0, imm: 0),
            I(OpCodes.JeqImm, 6, 0, 4, 0),        // pc 2 -> pc 7
            I(OpCodes.Mov64Reg, 1, 6),
            I(OpCodes.Call, imm: 1),
            I(OpCodes.Add64Reg, 0, 6),
            I(OpCodes.Exit),
            I(OpCodes.Exit));                     // pc 7
        using var compiled = TestEngines.Get(engine).Compile(program, environment);
        self = compiled;
        Assert.Equal(2UL + 1, compiled.Run(BitConverter.GetBytes(2UL)));

        // The helper fails in the third nested run; that run's helper error passes through the outer helpers unchanged.
        var e = Assert.Throws<EbpfHelperException>(() => compiled.Run(BitConverter.GetBytes(5UL)));
        Assert.Equal(4, e.Pc);
        Assert.Equal(2UL + 1, compiled.Run(BitConverter.GetBytes(2UL)));
    }
}
