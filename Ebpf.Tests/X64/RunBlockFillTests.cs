using System.Runtime.InteropServices;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;
using Ebpf.X64;
using Ebpf.X64.Runtime;

namespace Ebpf.Tests.X64;

/// <summary>
/// A run fills only the run block's per-run fields the machine code addresses (<see cref="X64CompiledProgram.BlockWords"/>):
/// which words the mask holds for a few programs, and that runs whose block skips fields still end right.
/// </summary>
public class RunBlockFillTests
{
    private static bool Holds(ulong words, int offset) => (words & (1UL << (offset / 8))) != 0;

    private static ulong WordsOf(string source, ExecutionOptions? options = null)
    {
        var program = EbpfProgram.Create(Assembler.Assemble(source), StructuralOnlyVerifier.Instance);
        using var compiled = (X64CompiledProgram)new X64Engine().Compile(program, null, options);
        var code = new byte[compiled.CodeSize];
        Marshal.Copy(compiled.CodeAddress, code, 0, code.Length);
        return X64CompiledProgram.BlockWords(code);
    }

    [Fact]
    public void Two_checked_8_byte_input_loads_address_the_8_byte_limit_and_no_other_limit_budget_or_call_limit()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        ulong words = WordsOf("ldxdw r0, [r1]\nldxdw r2, [r1+8]\nadd r0, r2\nexit");
        Assert.True(Holds(words, RunBlock.InputLimitOffset + 24));
        Assert.True(Holds(words, RunBlock.InputStartOffset));
        Assert.True(Holds(words, RunBlock.ContextAddressOffset));
        Assert.True(Holds(words, RunBlock.StackEndOffset));
        Assert.False(Holds(words, RunBlock.InputLimitOffset));
        Assert.False(Holds(words, RunBlock.InputLimitOffset + 8));
        Assert.False(Holds(words, RunBlock.InputLimitOffset + 16));
        Assert.False(Holds(words, RunBlock.BudgetOffset));
        Assert.False(Holds(words, RunBlock.CallLimitOffset));
    }

    [Fact]
    public void A_budget_and_a_local_call_put_the_budget_and_the_call_limit_in_the_mask()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        ulong words = WordsOf("call local f\nexit\nf:\nmov r0, 7\nexit", new ExecutionOptions { InstructionBudget = 100 });
        Assert.True(Holds(words, RunBlock.BudgetOffset));
        Assert.True(Holds(words, RunBlock.CallLimitOffset));
    }

    [Fact]
    public void Without_memory_checks_no_region_or_limit_is_addressed()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        ulong words = WordsOf("ldxdw r0, [r1]\nldxb r2, [r1+8]\nadd r0, r2\nexit", new ExecutionOptions { MemoryChecks = false });
        Assert.False(Holds(words, RunBlock.InputStartOffset));
        Assert.False(Holds(words, RunBlock.RegionsOffset));
        Assert.Equal(0UL, words & (0xFUL << (RunBlock.InputLimitOffset / 8)));
    }

    [Fact]
    public void Checked_code_without_a_check_site_has_no_slow_check_and_addresses_no_region()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        // Stack accesses at [r10 + k] inside the frame are checked structurally: no access falls to the shared slow
        // check, so it is not emitted, and the region table and the metadata it reads are not in the mask.
        ulong framed = WordsOf("stdw [r10-8], 7\nldxdw r0, [r10-8]\nexit");
        Assert.False(Holds(framed, RunBlock.RegionsOffset));
        Assert.False(Holds(framed, RunBlock.RegionCountOffset));
        Assert.False(Holds(framed, RunBlock.MetadataStartOffset));

        // A checked input access has a slow path: the routine and its region table are there.
        ulong input = WordsOf("ldxdw r0, [r1]\nexit");
        Assert.True(Holds(input, RunBlock.RegionsOffset));
        Assert.True(Holds(input, RunBlock.MetadataStartOffset));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Budgeted_unbudgeted_and_callback_calling_runs_take_turns_on_one_thread_and_keep_their_results(string engine)
    {
        // The thread's run state carries the budget from run to run; a program whose code counts no budget must leave
        // it as it found it, and one that counts must start from its own.
        var e = TestEngines.Get(engine);
        using var free = e.Compile(EbpfProgram.Create(Assembler.Assemble("mov r0, 5\nexit"), StructuralOnlyVerifier.Instance));
        using var budgeted = e.Compile(
            EbpfProgram.Create(Assembler.Assemble("mov r0, 3\nsub r0, 1\njne r0, 0, -2\nmov r0, 9\nexit"), StructuralOnlyVerifier.Instance),
            null,
            new ExecutionOptions { InstructionBudget = 20 });
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(5UL, free.Run());
            Assert.Equal(9UL, budgeted.Run());
        }

        using var tight = e.Compile(
            EbpfProgram.Create(Assembler.Assemble("mov r0, 3\nsub r0, 1\njne r0, 0, -2\nmov r0, 9\nexit"), StructuralOnlyVerifier.Instance),
            null,
            new ExecutionOptions { InstructionBudget = 4 });
        Assert.Throws<EbpfBudgetExceededException>(() => tight.Run());
        Assert.Equal(5UL, free.Run());
    }
}
