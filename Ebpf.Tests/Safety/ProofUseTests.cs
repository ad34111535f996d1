using Ebpf.Analysis;
using Ebpf.Assembly;
using Ebpf.Execution;
using Ebpf.Fuzzing.Generation;
using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;

namespace Ebpf.Tests.Safety;

/// <summary>
/// The engines compile the accesses the safety analysis proves without a run-time check (<see cref="CheckPlan"/>),
/// and that changes nothing a program can observe: the counts of checked and proven accesses per compilation, the
/// metadata mode, programs with analysis errors, stack arrays handed to local calls, and generated programs run with
/// the proof and with every check forced on.
/// </summary>
public class ProofUseTests
{
    // r0 = the first 4 bytes of what r1 points at, when r2 says there are 4; else 0.
    private const string GuardedRead = "mov r0, 0\njlt r2, 4, +1\nldxw r0, [r1]\nexit";

    // The entry function fills an 8-slot array at r10-64 (slot i = 0x10 + i), reads an index from the input and hands
    // the array and the index to a local function, which reads array[index & mask] (pc 16).
    private static string ArrayInCallerFrame(int mask) => string.Join('\n', Enumerable.Range(0, 8)
        .Select(i => $"stdw [r10-{64 - (8 * i)}], {0x10 + i}")
        .Concat(
        [
            "ldxb r2, [r1]",
            "mov r1, r10",
            "add r1, -64",
            "call local +1",
            "exit",
            $"and r2, {mask}",
            "lsh r2, 3",
            "add r1, r2",
            "ldxdw r0, [r1]",
            "exit",
        ]));

    private static (int Checked, int Proven) Statistics(ICompiledProgram compiled)
    {
        var statistics = Assert.IsAssignableFrom<IMemoryCheckStatistics>(compiled);
        return (statistics.CheckedAccesses, statistics.ProvenAccesses);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_proven_access_is_compiled_without_a_check_and_still_reads_right(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(GuardedRead));
        using var compiled = TestEngines.Get(engine).Compile(program);
        Assert.Equal((0, 1), Statistics(compiled));
        Assert.Equal(0x04030201UL, compiled.Run([1, 2, 3, 4]));
        Assert.Equal(0UL, compiled.Run([1, 2, 3]));
        Assert.Equal(0UL, compiled.Run());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_unproven_access_keeps_its_check(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble("ldxb r0, [r1+100]\nexit"));
        using var compiled = TestEngines.Get(engine).Compile(program);
        Assert.Equal((1, 0), Statistics(compiled));
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[100]));
        Assert.Equal(0, e.Pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Forcing_checks_compiles_the_proven_access_with_one(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(GuardedRead));
        using (CheckPlan.ForceChecks())
        {
            using var compiled = TestEngines.Get(engine).Compile(program);
            Assert.Equal((1, 0), Statistics(compiled));
            Assert.Equal(0x04030201UL, compiled.Run([1, 2, 3, 4]));
        }

        using var afterwards = TestEngines.Get(engine).Compile(program);
        Assert.Equal((0, 1), Statistics(afterwards));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_program_with_an_analysis_error_gets_no_proof(string engine)
    {
        // r5 is read before it is written (an error): the analysis does not follow that path further, so even the
        // guarded read keeps its check.
        var program = ProgramLoader.Load(Assembler.Assemble("mov r0, 0\njlt r2, 4, +2\nldxw r0, [r1]\nadd r0, r5\nexit"));
        Assert.False(program.Analysis.Safety(new SafetyContext()).IsSafe);
        Assert.Throws<EbpfVerificationException>(() => TestEngines.Get(engine).Compile(program)); // the default refuses it
        using var compiled = TestEngines.Get(engine).Compile(program, options: new ExecutionOptions { Verification = VerificationMode.Structural });
        Assert.Equal((1, 0), Statistics(compiled));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_write_the_analysis_cannot_place_keeps_the_read_through_a_forged_pointer_checked(string engine)
    {
        // The input pointer is spilled to fp-8; a store through a laundered copy of r10 (which the analysis loses
        // track of) overwrites it with 0x1234; the reloaded "input pointer" is then read behind a length check. The
        // read must keep its check: unchecked, it would read address 0x1234. The analysis forgets the spill at the
        // unplaced store, so only the spill and the reload (fp-8, in the frame) are proven.
        var program = ProgramLoader.Load(Assembler.Assemble(
            "stxdw [r10-8], r1\nmov r3, r10\nand r3, -1\nmov r4, 0x1234\nstxdw [r3-8], r4\nldxdw r5, [r10-8]\nmov r0, 0\njlt r2, 8, +1\nldxdw r0, [r5]\nexit"));
        using var compiled = TestEngines.Get(engine).Compile(program);
        Assert.Equal((2, 2), Statistics(compiled));
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(new byte[8]));
        Assert.Equal(8, e.Pc);
        Assert.Equal(0x1234UL, e.Address);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_read_through_what_a_map_of_maps_lookup_returns_stays_checked(string engine)
    {
        // A lookup in a map of maps yields an inner map's handle, not memory: reading through it must stay checked.
        // The analysis types the result as unknown (not a map value), so only the key store is proven.
        using var outer = new MapOfMaps(new MapDefinition("outer", BpfMapType.ArrayOfMaps, 4, 4, 2) { InnerMap = new MapDefinition("inner", BpfMapType.Hash, 4, 8, 16) });
        using var inner = outer.CreateInnerMap("inner0");
        Assert.Equal(MapStatus.Success, outer.Set(0, inner));
        var environment = new ProgramEnvironment(LinuxHelpers.Register(new HelperTable()));
        int index = MapRegistry.For(environment).Add(outer);
        var program = ProgramLoader.Load(Assembler.Assemble(
            $"stw [r10-4], 0\nlddw r1, 0\nmov r2, r10\nadd r2, -4\ncall 1\njeq r0, 0, +1\nldxw r0, [r0]\nexit"));
        var slots = program.Instructions.ToArray();
        slots[1] = new Isa.Instruction(Isa.OpCodes.Lddw, 1, (byte)Isa.LddwSource.MapByIndex, 0, index);
        program = EbpfProgram.Create(slots, Verifier.Default);
        using var compiled = TestEngines.Get(engine).Compile(program, environment);
        Assert.Equal((1, 1), Statistics(compiled));
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run());
        Assert.Equal(7, e.Pc);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_stack_pointer_moved_into_the_input_reads_it(string engine)
    {
        // r2 = r10 + (r1 - r10): derived from r10, so checked against the stack first, but it points at the input.
        var program = ProgramLoader.Load(Assembler.Assemble("mov r3, r1\nsub r3, r10\nmov r2, r10\nadd r2, r3\nldxb r0, [r2]\nexit"));
        using var compiled = TestEngines.Get(engine).Compile(program);
        Assert.Equal(0x2aUL, compiled.Run([0x2a]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void In_the_metadata_mode_the_proof_is_about_the_metadata(string engine)
    {
        // r1/r2 are the metadata buffer and its length: the proof relies on r2 only, whatever r1 points at.
        var program = ProgramLoader.Load(Assembler.Assemble(GuardedRead));
        using var compiled = TestEngines.Get(engine).Compile(program);
        Assert.Equal(1, Statistics(compiled).Proven);
        byte[] memory = [9, 9, 9, 9, 9, 9, 9, 9];
        Assert.Equal(0x0d0c0b0aUL, compiled.Run(memory, [10, 11, 12, 13]));
        Assert.Equal(0UL, compiled.Run(memory, [10, 11]));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_masked_index_into_a_caller_array_is_proven(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(ArrayInCallerFrame(7)));
        using var compiled = TestEngines.Get(engine).Compile(program);

        // Checked: only the unguarded input read (the stores are at constant offsets in the own frame or proven).
        Assert.Equal(1, Statistics(compiled).Checked);
        Assert.Equal(0x13UL, compiled.Run([3]));
        Assert.Equal(0x12UL, compiled.Run([10])); // 10 & 7
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_unmasked_index_into_a_caller_array_is_checked_against_every_frame(string engine)
    {
        var program = ProgramLoader.Load(Assembler.Assemble(ArrayInCallerFrame(15)));
        Assert.Equal(AccessRegion.Input, program.Analysis.RegionOf(16)); // the guess cannot see the pointer came from r10
        using var compiled = TestEngines.Get(engine).Compile(program);
        Assert.Equal(2, Statistics(compiled).Checked);
        for (byte i = 0; i < 8; i++)
        {
            Assert.Equal(0x10UL + i, compiled.Run([i]));
        }

        // index 8 is the caller's r10: one past the stack
        var e = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run([8]));
        Assert.Equal(16, e.Pc);
        Assert.Equal(8UL, e.Size);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Generated_programs_behave_the_same_with_the_proof_and_with_every_check(string engine)
    {
        var random = new Random(20261203);
        var generate = GeneratedCases.Guarded(20261203);
        int provenUnchecked = 0, faults = 0;
        for (int i = 0; i < 150; i++)
        {
            var program = generate(i).Program;
            var options = new ExecutionOptions { InstructionBudget = 100_000, Verification = VerificationMode.Structural };
            using var withProof = new Compiled(engine, program, options, forceChecks: false);
            using var allChecked = new Compiled(engine, program, options, forceChecks: true);
            Assert.Equal(0, Statistics(allChecked.Program).Proven);
            provenUnchecked += Statistics(withProof.Program).Proven;
            foreach (int length in (ReadOnlySpan<int>)[0, 1, 7, 14, 15, 23, 40])
            {
                var input = new byte[length];
                random.NextBytes(input);
                string expected = allChecked.Outcome((byte[])input.Clone());
                faults += expected.StartsWith("fault", StringComparison.Ordinal) ? 1 : 0;
                Assert.Equal(expected, withProof.Outcome((byte[])input.Clone()));
            }
        }

        Assert.True(provenUnchecked > 150, $"only {provenUnchecked} accesses compiled without a check");
        Assert.True(faults > 0, "no program faulted: the generator no longer exercises the checks");
    }

    /// <summary>A compiled generated program with its own environment and maps (runs may update the maps).</summary>
    private sealed class Compiled : IDisposable
    {
        public Compiled(string engine, EbpfProgram program, ExecutionOptions options, bool forceChecks)
        {
            var environment = GeneratedEnvironment.Create();
            using var scope = forceChecks ? CheckPlan.ForceChecks() : null;
            Program = TestEngines.Get(engine).Compile(program, environment, options);
        }

        public ICompiledProgram Program { get; }

        /// <summary>r0 and the input afterwards, or the error's type and pc.</summary>
        public string Outcome(byte[] input)
        {
            try
            {
                ulong r0 = Program.Run(input);
                return $"r0={r0} input={Convert.ToHexString(input)}";
            }
            catch (EbpfRuntimeException e)
            {
                return $"fault {e.GetType().Name} at {e.Pc}";
            }
        }

        public void Dispose() => Program.Dispose();
    }
}
