using System.Runtime.InteropServices;
using Ebpf.Assembly;
using Ebpf.Fuzzing;
using Ebpf.Fuzzing.Generation;
using Ebpf.Helpers;
using Ebpf.Tests.Engines;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Fuzzing;

/// <summary>
/// The campaign's check of the compilation users get (proven accesses without a check) against every check forced
/// on: a deliberately wrong proof (a helper whose signature promises a map value but which returns a pointer to memory
/// of no region) lets a read through that the checked run stops, and that shows as a mismatch on every engine.
/// </summary>
public sealed unsafe class ProofUseComparisonTests : IDisposable
{
    /// <summary>A lookup with the kernel's null check, then 8 bytes at offset 8 of the 16-byte value.</summary>
    private const string Lookup = "stw [r10-4], 1\nlddw r1, map_by_idx 0x0\nmov r2, r10\nadd r2, -4\ncall 1\njeq r0, 0, +1\nldxdw r0, [r0+8]\nexit";

    /// <summary>Memory that belongs to no region of any run: where the lying helper points.</summary>
    private readonly byte* stray = (byte*)NativeMemory.AlignedAlloc(64, 8);

    public ProofUseComparisonTests() => new Span<byte>(stray, 64).Fill(0x5a);

    public void Dispose() => NativeMemory.AlignedFree(stray);

    /// <summary>The generated environment with <c>bpf_map_lookup_elem</c> replaced by a helper with its signature that returns <see cref="stray"/>.</summary>
    private ProgramEnvironment LyingEnvironment()
    {
        var environment = GeneratedEnvironment.Create();
        ulong address = (ulong)stray;
        environment.Helpers.Set(new Helper(LinuxHelperIds.MapLookupElem, "lying_lookup", (_, _, _, _, _, _) => address)
        {
            Signature = HelperSignature.Of(HelperReturnKind.MapValueOrNull, HelperArgumentKind.MapPointer, HelperArgumentKind.MapKey),
        });
        return environment;
    }

    private static EbpfProgram Program() => EbpfProgram.Create(Assembler.Assemble(Lookup), StructuralOnlyVerifier.Instance);

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void A_wrong_proof_that_lets_a_read_through_is_a_mismatch_with_the_checked_run(string engine)
    {
        var runner = new DifferentialRunner([TestEngines.Get(engine)]) { CheckProofUse = true };
        var verdict = runner.Compare(Program(), [], LyingEnvironment(), new ExecutionOptions());
        Assert.StartsWith("MemoryAccessViolation at pc 7", verdict.Reference, StringComparison.Ordinal); // every check on: the read is stopped
        Assert.True(verdict.DroppedChecks >= 1, $"{verdict.DroppedChecks} checks dropped");
        Assert.NotNull(verdict.Mismatch);
        Assert.Contains($"{engine} with the proof used", verdict.Mismatch, StringComparison.Ordinal);
        Assert.Contains("r0=0x5a5a5a5a5a5a5a5a", verdict.Mismatch, StringComparison.Ordinal); // the read went through
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Without_the_forced_comparison_the_same_wrong_proof_goes_unnoticed(string engine)
    {
        var verdict = new DifferentialRunner([TestEngines.Get(engine)]).Compare(Program(), [], LyingEnvironment(), new ExecutionOptions());
        Assert.StartsWith("r0=0x5a5a5a5a5a5a5a5a", verdict.Reference, StringComparison.Ordinal);
        Assert.Null(verdict.Mismatch);
        Assert.Equal(0, verdict.DroppedChecks);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void An_honest_proof_drops_checks_and_agrees_with_the_checked_run(string engine)
    {
        var runner = new DifferentialRunner([TestEngines.Get(engine)]) { CheckProofUse = true };
        var verdict = runner.Compare(Program(), [], GeneratedEnvironment.Create(), new ExecutionOptions());
        Assert.StartsWith($"r0=0x{0x0123456789abcdefUL * 2:x}", verdict.Reference, StringComparison.Ordinal); // the upper half of value 1
        Assert.True(verdict.DroppedChecks >= 1, $"{verdict.DroppedChecks} checks dropped");
        Assert.Null(verdict.Mismatch);
    }

    [Fact]
    public void The_campaign_counts_a_wrong_proof_as_a_mismatch_and_reports_the_proof_use()
    {
        var environment = LyingEnvironment();
        var program = Program();
        var campaign = new DifferentialCampaign(TestEngines.All, _ => new DifferentialCase(program, [], environment, new ExecutionOptions(), "lying lookup"));
        var result = campaign.Run(3);
        Assert.Equal((3L, 0L), (result.Mismatches, result.UnexpectedExceptions));
        Assert.False(result.IsClean);
        Assert.Equal(3, result.Findings.Count(f => f.Kind == "mismatch" && f.Message.Contains("with the proof used", StringComparison.Ordinal)));
        Assert.All(result.Findings.Where(f => f.Kind != "mismatch"), f => Assert.Equal("unsound", f.Kind)); // the checked run also faulted where strict verification accepts
        Assert.Equal(3, result.Verifier!.ProofUsePrograms);
        Assert.StartsWith("proof use: 3 programs compiled with ", result.Verifier.ProofUseSummary, StringComparison.Ordinal);
    }
}
