using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Writes the analysis cannot place (an unproven store, a helper without a signature or writing where the analysis
/// cannot tell, <c>callx</c>) may overwrite a register spilled to the stack: the analysis forgets every spill after
/// one, so a reloaded pointer is a number and accesses through it are not proven. Each program below forges a
/// spilled input pointer with 0x1234; the read through the reloaded pointer must stay checked on every engine.
/// </summary>
public class UnplacedWriteTests
{
    private const ulong Forged = 0x1234;

    // r6 = len; fp-8 = the input pointer; <write>; r5 = fp-8 reloaded; r0 = *(u64 *)r5 when len >= 8 (pc of the read: ReadPc).
    private static string Forge(string write) =>
        $"mov r6, r2\nstxdw [r10-8], r1\n{write}\nldxdw r5, [r10-8]\nmov r0, 0\njlt r6, 8, +1\nldxdw r0, [r5]\nexit";

    private static int ReadPc(EbpfProgram program) => program.Length - 2;

    /// <summary>Helper 98 writes <see cref="Forged"/> to the 8 bytes at r1 (no signature); helper 97 writes it to each 8 bytes of r1..r1+r2 (a writable-memory signature).</summary>
    private static ProgramEnvironment Environment()
    {
        var helpers = new HelperTable();
        helpers.Set(new Helper(98, "forge", (ctx, a1, _, _, _, _) =>
        {
            BinaryPrimitives.WriteUInt64LittleEndian(ctx.GetMemory(a1, 8, MemoryAccessKind.Write), Forged);
            return 0;
        }));
        helpers.Set(new Helper(97, "fill", (ctx, a1, a2, _, _, _) =>
        {
            var memory = ctx.GetMemory(a1, a2, MemoryAccessKind.Write);
            for (int i = 0; i + 8 <= memory.Length; i += 8)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(memory[i..], Forged);
            }

            return 0;
        })
        { Signature = HelperSignature.Of(HelperArgumentKind.WritableMemory, HelperArgumentKind.MemorySize) });
        return new ProgramEnvironment(helpers);
    }

    public static TheoryData<string, string> Writes() => new()
    {
        // a store through a copy of r10 the analysis loses track of (and with -1 makes it unknown)
        { "unproven store", "mov r3, r10\nand r3, -1\nmov r4, 0x1234\nstxdw [r3-8], r4" },
        // an atomic exchange through it
        { "unproven atomic", "mov r3, r10\nand r3, -1\nmov r4, 0x1234\nlock xchg [r3-8], r4" },
        // a helper without a signature handed the slot
        { "helper without signature", "mov r1, r10\nadd r1, -8\ncall 98" },
        // a writable-memory helper whose size the analysis cannot bound
        { "helper writing an unbounded size", "mov r1, r10\nadd r1, -8\nmov r2, r6\ncall 97" },
        // the same helper through a pointer the analysis cannot place
        { "helper writing through an unknown pointer", "mov r1, r10\nand r1, -1\nadd r1, -8\nmov r2, 8\ncall 97" },
    };

    [Theory]
    [MemberData(nameof(Writes))]
    public void The_analysis_forgets_spilled_registers_after_a_write_it_cannot_place(string what, string write)
    {
        var program = Analyze.Program(Forge(write));
        var analysis = program.Analysis.Safety(SafetyContext.For(Environment()));
        Assert.True(analysis.IsSafe, what);
        Assert.Equal(AccessOutcome.Proven, analysis.Access(1).Outcome); // the spill itself
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(ReadPc(program)).Outcome);
        Assert.Contains(analysis.Unproven, f => f.Pc == ReadPc(program) && f.Message.Contains("r5: is a number", StringComparison.Ordinal));
    }

    [Fact]
    public void A_write_the_analysis_places_keeps_other_spills()
    {
        // A proven store to fp-16 leaves the pointer spilled at fp-8 alone: the read through it is proven.
        var program = Analyze.Program(Forge("mov r4, 0x1234\nstxdw [r10-16], r4"));
        var analysis = program.Analysis.Safety(SafetyContext.For(Environment()));
        Assert.True(analysis.IsProven);
        Assert.Equal(AccessOutcome.Proven, analysis.Access(ReadPc(program)).Outcome);
    }

    [Fact]
    public void Callx_forgets_spilled_registers()
    {
        var program = Analyze.Program(Forge("mov r1, r10\nadd r1, -8\nmov r3, 98\ncall %r3"));
        var analysis = program.Analysis.Safety(SafetyContext.For(Environment()));
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(ReadPc(program)).Outcome);
    }

    public static TheoryData<string, string> WritesOnEngines()
    {
        var data = new TheoryData<string, string>();
        foreach (string engine in TestEngines.Names())
        {
            foreach (var row in Writes())
            {
                data.Add(engine, (string)row[1]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WritesOnEngines))]
    public void The_read_through_the_forged_pointer_stays_checked(string engine, string write)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(Forge(write)));
        using var compiled = TestEngines.Get(engine).Compile(program, Environment());
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[8]));
        Assert.Equal(ReadPc(program), e.Pc);
        Assert.Equal(Forged, e.Address);
    }

    /// <summary>
    /// A loop reading input[i] (i = 0, 1, ...) after a length check of 1, whose back edge runs through a tree of local
    /// calls (four call sites per function, seven deep) the analysis explores per chain of call sites: it runs out of
    /// steps before the loop comes round, when the read has been seen only with i = 0.
    /// </summary>
    private static string StepExhaustingLoop()
    {
        var text = new StringBuilder("""
            mov r8, r1
            mov r6, 0
            mov r7, 0
            jlt r2, 1, done
            loop:
            mov r3, r8
            add r3, r6
            ldxb r4, [r3]
            add r7, r4
            call local f0
            add r6, 1
            jlt r6, 2, loop
            done:
            mov r0, r7
            exit

            """);
        for (int level = 0; level < 7; level++)
        {
            text.Append(CultureInfo.InvariantCulture, $"f{level}:\nmov r0, 0\n");
            for (int call = 0; level < 6 && call < 4; call++)
            {
                text.Append(CultureInfo.InvariantCulture, $"call local f{level + 1}\n");
            }

            text.Append(string.Concat(Enumerable.Repeat("mov r0, 0\n", 190))).Append("exit\n");
        }

        return text.ToString();
    }

    private const int LoopReadPc = 6;

    [Fact]
    public void An_analysis_that_runs_out_of_steps_proves_nothing()
    {
        var program = Analyze.Program(StepExhaustingLoop());
        var analysis = program.Analysis.Safety(new SafetyContext());
        Assert.Contains(analysis.Unproven, f => f.Message.Contains("gave up", StringComparison.Ordinal));
        Assert.Equal(AccessOutcome.Unknown, analysis.Access(LoopReadPc).Outcome);
        Assert.Equal(0, analysis.ProvenCount);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void The_loop_the_analysis_gave_up_on_stays_checked(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(StepExhaustingLoop()));
        using var compiled = TestEngines.Get(engine).Compile(program, null, new ExecutionOptions { InstructionBudget = 100_000_000 });
        Assert.Equal(12UL, compiled.Run([7, 5])); // two iterations in bounds
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run([7]));
        Assert.Equal(LoopReadPc, e.Pc);
    }
}
