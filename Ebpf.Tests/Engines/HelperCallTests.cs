using Ebpf.Conformance;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Engines;

public class HelperCallTests
{
    private static ProgramEnvironment Environment(params Helper[] helpers)
    {
        var table = new HelperTable();
        foreach (var h in helpers)
        {
            table.Add(h);
        }

        return new ProgramEnvironment(table);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_helper_receives_r1_to_r5_and_returns_r0(string engine)
    {
        var env = Environment(RbpfHelpers.GatherBytes());
        var program = Program(
            I(OpCodes.Mov64Imm, 1, imm: 0x11), I(OpCodes.Mov64Imm, 2, imm: 0x22), I(OpCodes.Mov64Imm, 3, imm: 0x33),
            I(OpCodes.Mov64Imm, 4, imm: 0x44), I(OpCodes.Mov64Imm, 5, imm: 0x55), I(OpCodes.Call, imm: 0), I(OpCodes.Exit));
        Assert.Equal(0x1122334455UL, Run(engine, program, environment: env));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_unknown_helper_id_is_rejected_at_compile(string engine)
    {
        var program = Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.Call, imm: 77), I(OpCodes.Exit));
        var e = Assert.Throws<EbpfUnknownHelperException>(() => TestEngines.Get(engine).Compile(program, Environment(RbpfHelpers.Sqrti())));
        Assert.Equal(1, e.Pc);
        Assert.Equal(77u, e.HelperId);
        Assert.Equal(engine, e.Engine);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_throwing_helper_ends_the_run_with_a_helper_error(string engine)
    {
        var failure = new InvalidOperationException("device not ready");
        var env = Environment(new Helper(9, "flaky", (_, _, _, _, _) => throw failure));
        var program = Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.Mov64Imm, 0), I(OpCodes.Call, imm: 9), I(OpCodes.Exit));
        var e = Assert.Throws<EbpfHelperException>(() => Run(engine, program, environment: env));
        Assert.Equal(RuntimeErrorKind.HelperFailed, e.Kind);
        Assert.Equal(2, e.Pc);
        Assert.Equal(9UL, e.HelperId);
        Assert.Same(failure, e.InnerException);
        Assert.Contains("flaky", e.Message);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_helper_table_is_taken_at_compile(string engine)
    {
        var table = new HelperTable().Add(3, "three", (_, _, _, _, _) => 3);
        var env = new ProgramEnvironment(table);
        var program = Program(I(OpCodes.Call, imm: 3), I(OpCodes.Exit));
        using var compiled = TestEngines.Get(engine).Compile(program, env);
        table.Set(3, "thirty", (_, _, _, _, _) => 30);
        Assert.Equal(3UL, compiled.Run());
        using var again = TestEngines.Get(engine).Compile(program, env);
        Assert.Equal(30UL, again.Run());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Callx_calls_the_helper_whose_id_is_in_the_register(string engine)
    {
        var env = Environment(new Helper(7, "double", (a, _, _, _, _) => a * 2));
        // mov r1, 21; mov r2, 7; callx r2; exit
        var program = Program(I(OpCodes.Mov64Imm, 1, imm: 21), I(OpCodes.Mov64Imm, 2, imm: 7), I(OpCodes.CallX, 2), I(OpCodes.Exit));
        Assert.Equal(42UL, Run(engine, program, environment: env));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Callx_with_an_unknown_id_fails_at_run_time(string engine)
    {
        var env = Environment(new Helper(7, "double", (a, _, _, _, _) => a * 2));
        var program = Program(I(OpCodes.Mov64Imm, 2, imm: 99), I(OpCodes.CallX, 2), I(OpCodes.Exit));
        using var compiled = TestEngines.Get(engine).Compile(program, env);
        var e = Assert.Throws<EbpfHelperException>(() => compiled.Run());
        Assert.Equal(RuntimeErrorKind.UnknownHelper, e.Kind);
        Assert.Equal(1, e.Pc);
        Assert.Equal(99UL, e.HelperId);

        // An id beyond 32 bits never names a helper.
        var wide = Program(Lddw(2, 0x1_0000_0007), I(OpCodes.CallX, 2), I(OpCodes.Exit));
        var w = Assert.Throws<EbpfHelperException>(() => Run(engine, wide, environment: env));
        Assert.Equal(0x1_0000_0007UL, w.HelperId);
        Assert.Equal(2, w.Pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Unwind_with_zero_ends_the_run_at_once(string engine)
    {
        var env = new ProgramEnvironment(ConformanceHelpers.CreateTable());
        // mov r1, 0; call 5 (unwind); mov r0, 2; exit   -> 0
        var program = Program(I(OpCodes.Mov64Imm, 1, imm: 0), I(OpCodes.Call, imm: 5), I(OpCodes.Mov64Imm, 0, imm: 2), I(OpCodes.Exit));
        Assert.Equal(0UL, Run(engine, program, environment: env));

        // From inside a local function too.
        var nested = Program(I(OpCodes.Call, 0, 1, 0, 2), I(OpCodes.Mov64Imm, 0, imm: 3), I(OpCodes.Exit),
            I(OpCodes.Mov64Imm, 1, imm: 0), I(OpCodes.Call, imm: 5), I(OpCodes.Mov64Imm, 0, imm: 2), I(OpCodes.Exit));
        Assert.Equal(0UL, Run(engine, nested, environment: env));

        // A nonzero argument is returned and the program goes on.
        var goesOn = Program(I(OpCodes.Mov64Imm, 1, imm: -1), I(OpCodes.Call, imm: 5), I(OpCodes.Add64Imm, 0, imm: 3), I(OpCodes.Exit));
        Assert.Equal(2UL, Run(engine, goesOn, environment: env));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Memfrob_works_on_the_stack_and_rejects_bad_pointers(string engine)
    {
        var env = new ProgramEnvironment(ConformanceHelpers.CreateTable());
        // stdw [r10-8], 0x112233 (as 8 bytes); mov r1, r10; add r1, -8; mov r2, 8; call 1; ldxdw r0, [r10-8]; exit
        var program = Program(
            I(OpCodes.StDW, 10, 0, -8, 0x112233), I(OpCodes.Mov64Reg, 1, 10), I(OpCodes.Add64Imm, 1, imm: -8), I(OpCodes.Mov64Imm, 2, imm: 8),
            I(OpCodes.Call, imm: 1), I(OpCodes.LdxDW, 0, 10, -8), I(OpCodes.Exit));
        Assert.Equal(0x2a2a2a2a2a3b0819UL, Run(engine, program, environment: env));

        // Nine bytes from r10-8 run past the stack: the helper's access is refused at the call.
        var bad = Program(I(OpCodes.Mov64Reg, 1, 10), I(OpCodes.Add64Imm, 1, imm: -8), I(OpCodes.Mov64Imm, 2, imm: 9), I(OpCodes.Call, imm: 1), I(OpCodes.Exit));
        var e = Assert.Throws<EbpfMemoryAccessException>(() => Run(engine, bad, environment: env, options: StructuralOnly));
        Assert.Equal(3, e.Pc);
        Assert.Equal(9UL, e.Size);
        Assert.Equal(MemoryAccessKind.Write, e.Access);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Strcmp_compares_strings_in_program_memory(string engine)
    {
        var env = new ProgramEnvironment(RbpfHelpers.Register(new HelperTable(), TextWriter.Null));
        var memory = "abc\0abd\0abc\0"u8.ToArray();
        // r2 = r1 + k; call strcmp(4)
        EbpfProgram StrcmpAt(int k) => Program(I(OpCodes.Mov64Reg, 2, 1), I(OpCodes.Add64Imm, 2, imm: k), I(OpCodes.Call, imm: 4), I(OpCodes.Exit));
        Assert.Equal(0UL, Run(engine, StrcmpAt(8), memory, env));
        Assert.Equal(1UL, Run(engine, StrcmpAt(4), memory, env));
        Assert.Equal(ulong.MaxValue, Run(engine, Program(I(OpCodes.Mov64Imm, 2, imm: 0), I(OpCodes.Call, imm: 4), I(OpCodes.Exit)), memory, env));

        var conformance = new ProgramEnvironment(ConformanceHelpers.CreateTable());
        Assert.Equal(unchecked((ulong)-1L), Run(engine, StrcmpAt(4), memory, conformance));
    }
}
