using Ebpf.Analysis;
using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Safety;

/// <summary>
/// Soundness before speed: over generated programs run with memory checks on, no access the analysis proves safe
/// ever trips a check, and a program the strict verifier accepts never faults; the escape programs of the memory
/// violation tests are never proven.
/// </summary>
public class SoundnessTests
{
    private const int Programs = 250;
    private static readonly int[] InputLengths = [0, 1, 7, 14, 15, 23, 40];

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Proven_accesses_never_trip_a_check_and_strict_programs_never_fault(string engine)
    {
        var random = new Random(20261202);
        int proven = 0, faults = 0, strictPrograms = 0;
        for (int i = 0; i < Programs; i++)
        {
            var slots = SafetyProgramGenerator.Generate(random);
            using var map = new ArrayMap("values", SafetyProgramGenerator.ValueSize, 4);
            var environment = new ProgramEnvironment(LinuxHelpers.Register(new HelperTable()));
            MapRegistry.For(environment).Add(map);
            var program = EbpfProgram.Create(slots, Verifier.Default);
            var analysis = program.Analysis.Safety(SafetyContext.For(environment));
            proven += analysis.ProvenCount;
            strictPrograms += analysis.IsProven ? 1 : 0;
            // Checks forced on: the engines would otherwise compile proven accesses without one (ProofUseTests).
            ICompiledProgram compiled;
            using (CheckPlan.ForceChecks())
            {
                compiled = TestEngines.Get(engine).Compile(program, environment, new ExecutionOptions { InstructionBudget = 100_000 });
            }

            using var owned = compiled;
            foreach (int length in InputLengths)
            {
                var input = new byte[length];
                random.NextBytes(input);
                try
                {
                    compiled.Run(input);
                }
                catch (EbpfMemoryAccessException e)
                {
                    faults++;
                    string listing = string.Join("\n", slots.Select((s, pc) => $"{pc}: {s}"));
                    Assert.True(analysis.Access(e.Pc).Outcome != AccessOutcome.Proven, $"proven access at pc {e.Pc} tripped its check with a {length}-byte input: {e.Message}\n{listing}");
                    Assert.False(analysis.IsProven, $"a strictly verified program faulted at pc {e.Pc}\n{listing}");
                }
            }
        }

        // the generator must exercise both sides: proofs, and faults the proofs did not cover
        Assert.True(proven > Programs, $"only {proven} proven accesses");
        Assert.True(faults > 0 && strictPrograms > 10, $"{faults} faults, {strictPrograms} strictly verified programs");
    }

    public static TheoryData<string, object[]> EscapePrograms() => new()
    {
        { "below the input", [I(Isa.OpCodes.LdxB, 0, 1, -1), I(Isa.OpCodes.Exit)] },
        { "just above the input", [I(Isa.OpCodes.Mov64Imm, 0), I(Isa.OpCodes.LdxB, 0, 1, 4), I(Isa.OpCodes.Exit)] },
        { "straddling the end", [I(Isa.OpCodes.LdxW, 0, 1, 2), I(Isa.OpCodes.Exit)] },
        { "wrapping address", [I(Isa.OpCodes.Mov64Imm, 1, imm: -4), I(Isa.OpCodes.LdxDW, 0, 1), I(Isa.OpCodes.Exit)] },
        { "input plus a huge offset", [Lddw(2, 0x8000_0000_0000_0000), I(Isa.OpCodes.Add64Reg, 1, 2), I(Isa.OpCodes.Add64Reg, 1, 2), I(Isa.OpCodes.LdxB, 0, 1, -1), I(Isa.OpCodes.Exit)] },
        { "above the frame", [I(Isa.OpCodes.StxDW, 10, 1, 0), I(Isa.OpCodes.Mov64Imm, 0), I(Isa.OpCodes.Exit)] },
        { "below the frame", [I(Isa.OpCodes.StDW, 10, 0, -520, 1), I(Isa.OpCodes.Mov64Imm, 0), I(Isa.OpCodes.Exit)] },
        { "a pointer from memory", [I(Isa.OpCodes.LdxDW, 2, 1), I(Isa.OpCodes.LdxB, 0, 2), I(Isa.OpCodes.Exit)] },
        { "a stack pointer plus input data", [I(Isa.OpCodes.LdxB, 3, 1), I(Isa.OpCodes.Mov64Reg, 2, 10), I(Isa.OpCodes.Sub64Reg, 2, 3), I(Isa.OpCodes.LdxB, 0, 2, -600), I(Isa.OpCodes.Exit)] },
    };

    [Theory]
    [MemberData(nameof(EscapePrograms))]
    public void Escape_programs_are_not_proven(string name, object[] slots)
    {
        var program = Program(slots);
        var analysis = program.Analysis.SafetyWithLog(new SafetyContext());
        Assert.False(analysis.IsProven, name);
        var strict = new ProvingVerifier(VerificationMode.Strict, new SafetyContext());
        Assert.Throws<EbpfVerificationException>(() => EbpfProgram.Create(program.Bytes.AsSpan(), strict));
        for (int pc = 0; pc < program.Length; pc++)
        {
            if (program.Decoded[pc].IsMemoryAccess && program.Decoded[pc].BaseRegister != 10)
            {
                Assert.NotEqual(AccessOutcome.Proven, analysis.Access(pc).Outcome);
            }
        }
    }
}
