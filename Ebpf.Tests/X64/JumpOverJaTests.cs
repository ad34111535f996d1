using Ebpf.Assembly;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// A conditional jump over a <c>ja</c> (<c>jcc +1; ja T</c>): x64 compiles the pair as one jump on the inverted
/// condition (X64Compiler.Branches.cs, <c>EmitJumpOverJa</c>). Every condition, 64- and 32-bit, with a register and an
/// immediate, on operand pairs at the signed and unsigned edges, must choose the way the interpreter chooses; a loop
/// whose latch has this shape and calls a helper runs its count; where something else jumps to the <c>ja</c>, both
/// stay as they are.
/// </summary>
public class JumpOverJaTests
{
    private static readonly string[] Conditions = ["jeq", "jne", "jset", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle"];

    private static readonly (ulong A, ulong B)[] Pairs =
    [
        (0, 0), (1, 2), (2, 1), (7, 7), (ulong.MaxValue, 1), (1, ulong.MaxValue), (0x8000_0000, 1), (1, 0x8000_0000),
        (0xFFFF_FFFF, 0x1_0000_0000), (0x1_0000_0005, 5), (0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF), (6, 3),
    ];

    /// <summary>r0 = 1 when <paramref name="condition"/> holds for r1 (the input's first u64) and the operand, else 2.</summary>
    private static string Choose(string condition, bool wide, string operand) =>
        $"""
        ldxdw r2, [r1+8]
        ldxdw r1, [r1]
        {condition}{(wide ? "" : "32")} r1, {operand}, +1
        ja +2
        mov r0, 1
        exit
        mov r0, 2
        exit
        """;

    private static byte[] Input(ulong a, ulong b) => [.. BitConverter.GetBytes(a), .. BitConverter.GetBytes(b)];

    public static TheoryData<string, bool, bool> Shapes()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var condition in Conditions)
        {
            foreach (bool wide in (bool[])[true, false])
            {
                data.Add(condition, wide, true);
                data.Add(condition, wide, false);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_condition_chooses_the_way_the_interpreter_chooses(string condition, bool wide, bool register)
    {
        var environment = new ProgramEnvironment();
        var program = EbpfProgram.Create(Assembler.Assemble(Choose(condition, wide, register ? "r2" : "5")), StructuralOnlyVerifier.Instance);
        using var reference = TestEngines.Get("interpreter").Compile(program, environment);
        var engines = TestEngines.All.Select(e => e.Compile(program, environment)).ToList();
        try
        {
            foreach (var (a, b) in Pairs)
            {
                ulong expected = reference.Run(Input(a, b));
                Assert.True(expected is 1 or 2);
                foreach (var compiled in engines)
                {
                    Assert.Equal(expected, compiled.Run(Input(a, b)));
                }
            }
        }
        finally
        {
            engines.ForEach(e => e.Dispose());
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_loop_with_the_latch_shape_and_a_helper_call_runs_its_count(string engine)
    {
        // r7 = sum over r6 = 0..9 of plus_one(r6) = 55; the latch is `jeq r6, 10, +1; ja loop`.
        var environment = new ProgramEnvironment();
        environment.Helpers.Add(1, "plus_one", static (a, _, _, _, _) => a + 1);
        var program = EbpfProgram.Create(Assembler.Assemble("""
            mov r6, 0
            mov r7, 0
            loop:
            mov r1, r6
            call 1
            add r7, r0
            add r6, 1
            jeq r6, 10, +1
            ja loop
            mov r0, r7
            exit
            """), StructuralOnlyVerifier.Instance);
        using var compiled = TestEngines.Get(engine).Compile(program, environment);
        Assert.Equal(55UL, compiled.Run(new byte[8]));
    }

    [Fact]
    public void The_pair_is_one_jump_and_stays_two_where_something_jumps_to_the_ja()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // Fused: the pair's translation (listed under the jeq) holds one conditional jump and no jmp.
        string fused = Listing(Choose("jeq", wide: true, "r2"));
        string pair = BranchShapeTests.Between(fused, "; pc 2:", "; pc 4:");
        Assert.Contains("jne", pair, StringComparison.Ordinal);
        Assert.DoesNotContain("jmp", pair, StringComparison.Ordinal);

        // A jump into the ja (from pc 0) keeps it: its own jmp is there.
        string kept = Listing("""
            ldxdw r2, [r1]
            jeq r2, 3, +2
            jeq r2, r1, +1
            ja +2
            mov r0, 1
            exit
            mov r0, 2
            exit
            """);
        Assert.Contains("; pc 3: ja", kept, StringComparison.Ordinal);
    }

    private static string Listing(string source)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);
        using var compiled = (X64CompiledProgram)new X64Engine().Compile(program, new ProgramEnvironment(), new ExecutionOptions());
        return compiled.GetListing();
    }
}
