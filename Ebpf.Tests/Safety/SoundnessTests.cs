using Ebpf.Analysis;
using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;
using Ebpf.Tests.Fuzzing;
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

    /// <summary>The soundness mode of the campaign (<c>ebpf fuzz</c>) over guarded programs: the shapes the verifier proves, correct or off by a few bytes.</summary>
    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Proven_accesses_never_trip_a_check_and_strict_programs_never_fault(string engine)
    {
        var engines = new[] { TestEngines.Get(engine) };
        var result = new DifferentialCampaign(engines, GeneratedCases.Guarded(20261202, engines[0])) { Parallelism = 2 }.Run(Programs);
        var tally = result.Verifier!;
        Assert.True(result.IsClean, string.Join("\n\n", result.Findings.Select(f => $"{f.Kind} in program {f.Index}: {f.Message}\n{f.Description}")));

        // the generator must exercise both sides: proofs, and faults the proofs did not cover
        Assert.True(tally.Proven > Programs, tally.Summary);
        Assert.True(tally.StrictAccepted > 10, tally.Summary);
        Assert.True(tally.Unknown > 0 && tally.Refuted > 0, tally.Summary);
        Assert.True(result.Outcomes.GetValueOrDefault("MemoryAccessViolation") > 10, string.Join(", ", result.Outcomes));
    }

    [Fact]
    public void A_run_stopped_at_a_proven_access_is_an_unsound_finding_that_fails_the_campaign()
    {
        var result = new DifferentialCampaign([new TrippingEngine()], GeneratedCases.Guarded(3)) { Parallelism = 1 }.Run(40);
        Assert.False(result.IsClean);
        Assert.Equal((0, 0), (result.Mismatches, result.UnexpectedExceptions));
        Assert.True(result.Verifier!.ProvenTripped + result.Verifier.StrictFaulted > 5, result.Verifier.Summary);
        Assert.All(result.Findings, f => Assert.Equal("unsound", f.Kind));
        Assert.Contains(result.Findings, f => f.Message.Contains("was proven in bounds but tripped its check", StringComparison.Ordinal)
            || f.Message.StartsWith("a program strict verification accepts faulted", StringComparison.Ordinal));
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
