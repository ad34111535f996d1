using System.Collections.Concurrent;
using System.Diagnostics;
using Ebpf.Analysis;
using Ebpf.Kernel;

namespace Ebpf.Fuzzing;

/// <summary>
/// Runs many generated programs through a <see cref="DifferentialRunner"/> in parallel. Program <c>i</c> comes from
/// the generator given <c>i</c>, so a finding is reproduced from the campaign's seed and its index alone, whatever the
/// parallelism. With <see cref="CheckSoundness"/> (the default) it also tests the proving verifier: every program is
/// analysed (a kernel program with its type's context layout), and a run of a program the verifier accepts (no errors)
/// stopped by the check of an access the analysis proved, or any memory fault of a program strict verification accepts
/// (but the stop of a self-checking legacy packet load), is an <c>unsound</c> finding. The proofs of a program with
/// errors are not checked: like the kernel's, the analysis abandons a path at its first error, so what it proves holds
/// only for programs it accepts. In this mode the runs the engines are compared on compile every access with its check
/// (the proof is not used), so a wrong proof shows as a tripped check rather than as an escape; and the compilation
/// users get, which drops the checks of proven accesses, is run too wherever it drops one and must end exactly as the
/// checked run (<see cref="DifferentialRunner.CheckProofUse"/>): a wrong proof that lets an access through is a mismatch.
/// The engines check a kernel program's packet accesses against the whole packet buffer, so a kernel program the
/// verifier accepts with a proven packet or metadata access also runs once under the <see cref="PacketBoundsOracle"/>,
/// which compares every proven packet and metadata access with <c>[data, data_end)</c> and <c>[data_meta, data)</c> as
/// they are when it runs: one outside is an <c>unsound</c> finding too. Every case runs with <see cref="ExecutionOptions.RunTimeLimit"/> off, whatever its
/// options say: a wall-clock stop depends on the machine's load, not on the program, so the runs of a campaign are
/// bounded by their instruction budgets alone (a case that may not end needs one).
/// </summary>
public sealed class DifferentialCampaign
{
    /// <summary>The most findings a result keeps (the counts include all).</summary>
    public const int MaxFindings = 10;

    private readonly IReadOnlyList<IExecutionEngine> engines;
    private readonly Func<long, DifferentialCase> generate;

    /// <summary>Creates a campaign.</summary>
    /// <param name="engines">The engines compared; the first is the reference.</param>
    /// <param name="generate">Program <c>i</c> of the campaign; must be deterministic and thread-safe.</param>
    /// <exception cref="ArgumentException">No engine given.</exception>
    public DifferentialCampaign(IReadOnlyList<IExecutionEngine> engines, Func<long, DifferentialCase> generate)
    {
        ArgumentNullException.ThrowIfNull(generate);
        this.engines = new DifferentialRunner(engines).Engines; // validates the list now, not at the first run
        this.generate = generate;
    }

    /// <summary>Threads running programs (default: one per processor).</summary>
    public int Parallelism { get; init; } = System.Environment.ProcessorCount;

    /// <summary>Whether every program is analysed and the runs checked against the proofs (default: true).</summary>
    public bool CheckSoundness { get; init; } = true;

    /// <summary>Runs programs <c>0</c> to <paramref name="programs"/> - 1.</summary>
    /// <param name="programs">How many programs.</param>
    /// <param name="progress">Told the number of programs done, now and then.</param>
    /// <param name="cancellation">Stops the campaign early; the result counts the programs run so far.</param>
    public CampaignResult Run(long programs, IProgress<long>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(programs);
        var clock = Stopwatch.StartNew();
        var runner = new DifferentialRunner(engines) { CheckProofUse = CheckSoundness };
        long done = 0;
        long mismatches = 0;
        long exceptions = 0;
        var outcomes = new ConcurrentDictionary<string, long>();
        var findings = new ConcurrentBag<CampaignFinding>();
        var tally = new long[TallySlots];
        var families = new ConcurrentDictionary<string, long[]>();
        long next = -1;
        var workers = Enumerable.Range(0, Math.Max(1, Parallelism)).Select(_ => Task.Factory.StartNew(
            () =>
            {
                long index;
                while (!cancellation.IsCancellationRequested && (index = Interlocked.Increment(ref next)) < programs)
                {
                    foreach (var finding in RunOne(runner, index, outcomes, tally, families))
                    {
                        if (finding.Kind != Unsound)
                        {
                            Interlocked.Increment(ref finding.Kind == "mismatch" ? ref mismatches : ref exceptions);
                        }

                        findings.Add(finding);
                    }

                    long count = Interlocked.Increment(ref done);
                    if (count % 1000 == 0)
                    {
                        progress?.Report(count);
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        Task.WaitAll(workers, CancellationToken.None);
        var verifier = CheckSoundness
            ? new VerifierTally(tally[0], tally[1], tally[2], tally[3], tally[4], tally[5])
            {
                Families = families.OrderBy(f => Array.IndexOf(Generation.GeneratedCases.Families.ToArray(), f.Key) is int i and >= 0 ? i : int.MaxValue)
                    .ThenBy(f => f.Key, StringComparer.Ordinal)
                    .ToDictionary(f => f.Key, f => new FamilyTally(f.Value[0], f.Value[1], f.Value[2], f.Value[3], f.Value[4])),
                ProofUsePrograms = tally[6],
                DroppedChecks = tally[7],
                PacketPrograms = tally[8],
                PacketAccessesChecked = tally[9],
            }
            : null;
        return new CampaignResult(
            done,
            mismatches,
            exceptions,
            new SortedDictionary<string, long>(outcomes, StringComparer.Ordinal),
            findings.OrderBy(f => f.Index).Take(MaxFindings).ToList(),
            clock.Elapsed,
            verifier,
            cancellation.IsCancellationRequested && done < programs);
    }

    private const string Unsound = "unsound";

    /// <summary>
    /// Proven, unknown, refuted accesses; strict-accepted and strict-faulted programs; proven accesses tripped; programs
    /// run with proofs used, checks they dropped; kernel programs run under the packet-bounds oracle, the proven packet
    /// and metadata accesses it checked.
    /// </summary>
    private const int TallySlots = 10;

    private List<CampaignFinding> RunOne(DifferentialRunner runner, long index, ConcurrentDictionary<string, long> outcomes, long[] tally, ConcurrentDictionary<string, long[]> families)
    {
        var found = new List<CampaignFinding>();
        DifferentialCase? generated = null;
        try
        {
            generated = generate(index);
            generated = generated with { Options = generated.Options with { RunTimeLimit = null } };
            var safety = CheckSoundness ? Analyse(generated, tally, families.GetOrAdd(generated.Family, _ => new long[FamilySlots])) : null;
            var verdict = runner.Compare(generated);
            if (verdict.DroppedChecks > 0)
            {
                Interlocked.Increment(ref tally[6]);
                Interlocked.Add(ref tally[7], verdict.DroppedChecks);
            }

            string outcome = verdict.Reference.StartsWith("r0=", StringComparison.Ordinal) || verdict.Reference.StartsWith("retval=", StringComparison.Ordinal)
                ? "result"
                : verdict.Reference.Split(' ')[0].TrimEnd(':');
            outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            if (verdict.Mismatch is { } mismatch)
            {
                found.Add(new CampaignFinding(index, "mismatch", mismatch, generated.Description));
            }

            if (safety is not null && verdict.ReferenceViolationPc is int pc)
            {
                if (safety.IsProven && !IsLegacyPacketLoad(generated.Program, pc))
                {
                    Interlocked.Increment(ref tally[4]);
                    found.Add(new CampaignFinding(index, Unsound, $"a program strict verification accepts faulted: {verdict.Reference}", generated.Description));
                }
                else if (safety.IsSafe && pc < generated.Program.Length && safety.Access(pc).Outcome == AccessOutcome.Proven)
                {
                    Interlocked.Increment(ref tally[5]);
                    found.Add(new CampaignFinding(index, Unsound, $"the access at pc {pc} was proven in bounds but tripped its check: {verdict.Reference}", generated.Description));
                }
            }

            if (safety is not null && generated.KernelType is not null && safety.IsSafe && HasPacketProof(generated.Program, safety))
            {
                var bounds = PacketBoundsOracle.Run(generated, safety.Access);
                Interlocked.Increment(ref tally[8]);
                Interlocked.Add(ref tally[9], bounds.Checked);
                if (bounds.Violation is { } violation && !found.Exists(f => f.Kind == Unsound))
                {
                    Interlocked.Increment(ref tally[5]);
                    found.Add(new CampaignFinding(index, Unsound, violation, generated.Description));
                }
            }
        }
        catch (Exception e)
        {
            found.Add(new CampaignFinding(index, "exception", e.ToString(), generated?.Description ?? "(the generator failed)"));
        }

        return found;
    }

    /// <summary>True when the analysis proves some access of <paramref name="program"/> inside the packet or its metadata.</summary>
    private static bool HasPacketProof(EbpfProgram program, SafetyAnalysis safety)
    {
        for (int pc = 0; pc < program.Length; pc++)
        {
            if (safety.Access(pc) is { Outcome: AccessOutcome.Proven, Region: ValueKind.Input or ValueKind.PacketMeta })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True for <c>LD_ABS</c>/<c>LD_IND</c>: their bounds check is part of the instruction (in the kernel an
    /// out-of-bounds one ends the program), no engine may drop it and the verifier does not count them as accesses, so
    /// their stop is not a fault of a strictly verified program.
    /// </summary>
    private static bool IsLegacyPacketLoad(EbpfProgram program, int pc) =>
        pc < program.Length && (program.Instructions[pc].OpCode & 0x07) == 0 && (program.Instructions[pc].OpCode & 0xe0) is 0x20 or 0x40;

    /// <summary>Programs, proven, unknown, refuted accesses, strict-accepted programs of one family.</summary>
    private const int FamilySlots = 5;

    /// <summary>
    /// The program's safety analysis in its environment (with its type's context layout for a kernel program), counted
    /// into <paramref name="tally"/> and its family's <paramref name="family"/>.
    /// </summary>
    private static SafetyAnalysis Analyse(DifferentialCase generated, long[] tally, long[] family)
    {
        var layout = generated.KernelType is { } type ? KernelContextLayouts.For(type) : null;
        var safety = generated.Program.Analysis.Safety(SafetyContext.For(generated.Environment, generated.Options, layout));
        long proven = 0, unknown = 0, refuted = 0;
        for (int pc = 0; pc < generated.Program.Length; pc++)
        {
            switch (safety.Access(pc).Outcome)
            {
                case AccessOutcome.Proven:
                    proven++;
                    break;
                case AccessOutcome.Unknown:
                    unknown++;
                    break;
                case AccessOutcome.Refuted:
                    refuted++;
                    break;
            }
        }

        Interlocked.Add(ref tally[0], proven);
        Interlocked.Add(ref tally[1], unknown);
        Interlocked.Add(ref tally[2], refuted);
        Interlocked.Add(ref tally[3], safety.IsProven ? 1 : 0);
        Interlocked.Increment(ref family[0]);
        Interlocked.Add(ref family[1], proven);
        Interlocked.Add(ref family[2], unknown);
        Interlocked.Add(ref family[3], refuted);
        Interlocked.Add(ref family[4], safety.IsProven ? 1 : 0);
        return safety;
    }
}
