using Ebpf.Assembly;
using Ebpf.Diagnostics;
using Ebpf.Execution;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Interpreter;

/// <summary>
/// The interpreter's fused return: a 64-bit <c>mov r0, imm</c> right before an <c>exit</c> is decoded as one operation,
/// which the direct copy of the dispatch loop ends the run with (r0 = imm) and every other copy runs as the move,
/// leaving the <c>exit</c> to count against the budget and to meet the observer. Expected values are worked out by
/// hand: a 64-bit move sign-extends its 32-bit immediate, a 32-bit move zero-extends it.
/// </summary>
public class FusedReturnTests
{
    private static CompiledProgram Interpret(string source, ExecutionOptions? options = null) =>
        (CompiledProgram)TestEngines.Get("interpreter").Compile(
            EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance),
            new ProgramEnvironment(),
            (options ?? ExecutionOptions.Default) with { Verification = VerificationMode.Structural });

    public static TheoryData<string, ulong> Returns => new()
    {
        { "mov r0, 0\nexit", 0 },
        { "mov r0, 1\nexit", 1 },
        { "mov r0, 42\nexit", 42 },
        { "mov r0, -1\nexit", 0xFFFF_FFFF_FFFF_FFFF },
        { "mov r0, 2147483647\nexit", 0x7FFF_FFFF },
        { "mov r0, -2147483648\nexit", 0xFFFF_FFFF_8000_0000 },
        { "mov32 r0, -1\nexit", 0xFFFF_FFFF },
        { "mov r0, 7\nmov r0, -2\nexit", 0xFFFF_FFFF_FFFF_FFFE },
        { "mov r1, 5\nexit", 0 },
        { "mov r0, 9\nmov r1, 5\nexit", 9 },
        { "mov r0, 3\nadd r0, 4\nexit", 7 },
    };

    [Theory]
    [MemberData(nameof(Returns))]
    public void Direct_and_plain_runs_return_the_moved_value(string source, ulong expected)
    {
        using var program = Interpret(source);
        Assert.True(program.HasDirectEntry);
        var input = new byte[8];

        Assert.Equal(expected, program.Run(input));

        // A run with a token takes the plain path.
        using var live = new CancellationTokenSource();
        Assert.Equal(expected, program.Run(input, live.Token));
    }

    [Theory]
    [InlineData(0, 9UL)]
    [InlineData(4, 3UL)]
    public void An_exit_reached_both_by_a_jump_and_after_the_fused_move_returns_what_each_path_left(int length, ulong expected)
    {
        // An empty input falls through to the fused move (r0 = 9); a non-empty one jumps over it to the exit (r0 = 3).
        using var program = Interpret("mov r0, 3\njne r2, 0, +1\nmov r0, 9\nexit");
        Assert.True(program.HasDirectEntry);
        var input = new byte[length];

        Assert.Equal(expected, program.Run(input));
        using var live = new CancellationTokenSource();
        Assert.Equal(expected, program.Run(input, live.Token));
    }

    [Fact]
    public void The_exit_after_a_fused_move_still_counts_against_the_budget()
    {
        // Two instructions on a budget of one: the exit is the one over the budget.
        using var program = Interpret("mov r0, 1\nexit", new ExecutionOptions { InstructionBudget = 1 });
        var e = Assert.Throws<EbpfBudgetExceededException>(() => program.Run(new byte[8]));
        Assert.Equal(1, e.Pc);

        using var enough = Interpret("mov r0, 1\nexit", new ExecutionOptions { InstructionBudget = 2 });
        Assert.Equal(1UL, enough.Run(new byte[8]));
    }

    [Fact]
    public void An_observer_sees_the_fused_move_and_its_exit_and_can_change_r0_between_them()
    {
        using var program = Interpret("mov r0, 1\nexit");
        var observer = new SettingObserver();

        ulong r0 = ((IObservableProgram)program).Run(new byte[8], default, observer);

        Assert.Equal([0, 1], observer.Pcs);
        Assert.Equal(SettingObserver.Value, r0);
    }

    /// <summary>Records the pcs it sees and sets r0 before the exit.</summary>
    private sealed class SettingObserver : IInstructionObserver
    {
        public const ulong Value = 0x5EED;

        public List<int> Pcs { get; } = [];

        public void OnInstruction(in InstructionStep step)
        {
            Pcs.Add(step.Pc);
            if (step.Instruction.OpCode == 0x95)
            {
                step.Registers[0] = Value;
            }
        }
    }
}
