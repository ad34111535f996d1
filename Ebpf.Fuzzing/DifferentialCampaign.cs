using System.Collections.Concurrent;
using System.Diagnostics;
using Ebpf.Analysis;

namespace Ebpf.Fuzzing;

/// <summary>
/// Runs many generated programs through a <see cref="DifferentialRunner"/> in parallel. Program <c>i</c> comes from
/// the generator given <c>i</c>, so a finding is reproduced from the campaign's seed and its index alone, whatever the
/// parallelism. With <see cref="CheckSoundness"/> (the default) it also tests the proving verifier: every program is
/// analysed, and a run of a program the verifier accepts (no errors) stopped by the check of an access the analysis
/// proved, or any memory fault of a program strict verification accepts (but the stop of a self-checking legacy packet
/// load), is an <c>unsound</c> finding. The proofs of a program with errors are not checked: like the kernel's, the
/// analysis abandons a path at its first error, so what it proves holds only for programs it accepts. In this mode the
/// engines compile every access with its check (the proof is not used), so a wrong proof shows as a tripped check
/// rather than as an escape.
/// </summary>
public sealed class DifferentialCampaign
{
    /// <summary>The most findings a result keeps (the counts include all).</summary>
    public const int MaxFindings = 10;

    private readonly DifferentialRunner runner;
    private readonly Func<long, DifferentialCase> generate;

    /// <summary>Creates a campaign.</summary>
    /// <param name="engines">The engines compared; the first is the reference.</param>
    /// <param name="generate">Program <c>i</c> of the campaign; must be deterministic and thread-safe.</param>
    public DifferentialCampaign(IReadOnlyList<IExecutionEngine> engines, Func<long, DifferentialCase> generate)
    {
        ArgumentNullException.ThrowIfNull(generate);
        runner = new DifferentialRunner(engines);
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
        long done = 0;
        long mismatches = 0;
        long exceptions = 0;
        var outcomes = new ConcurrentDictionary<string, long>();
        var findings = new ConcurrentBag<CampaignFinding>();
        var tally = new long[TallySlots];
        long next = -1;
        var workers = Enumerable.Range(0, Math.Max(1, Parallelism)).Select(_ => Task.Factory.StartNew(
            () =>
            {
                // Soundness: every access keeps its check, so a wrong proof trips a check instead of escaping.
                using var forced = CheckSoundness ? CheckPlan.ForceChecks() : null;
                long index;
                while (!cancellation.IsCancellationRequested && (index = Interlocked.Increment(ref next)) < programs)
                {
                    foreach (var finding in RunOne(index, outcomes, tally))
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
        return new CampaignResult(
            done,
            mismatches,
            exceptions,
            new SortedDictionary<string, long>(outcomes, StringComparer.Ordinal),
            findings.OrderBy(f => f.Index).Take(MaxFindings).ToList(),
            clock.Elapsed,
            CheckSoundness ? new VerifierTally(tally[0], tally[1], tally[2], tally[3], tally[4], tally[5]) : null,
            cancellation.IsCancellationRequested && done < programs);
    }

    private const string Unsound = "unsound";

    /// <summary>Proven, unknown, refuted accesses; strict-accepted and strict-faulted programs; proven accesses tripped.</summary>
    private const int TallySlots = 6;

    private List<CampaignFinding> RunOne(long index, ConcurrentDictionary<string, long> outcomes, long[] tally)
    {
        var found = new List<CampaignFinding>();
        DifferentialCase? generated = null;
        try
        {
            generated = generate(index);
            var safety = CheckSoundness ? Analyse(generated, tally) : null;
            var verdict = runner.Compare(generated.Program, generated.Input, generated.Environment, generated.Options);
            string outcome = verdict.Reference.StartsWith("r0=", StringComparison.Ordinal) ? "result" : verdict.Reference.Split(' ')[0];
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
        }
        catch (Exception e)
        {
            found.Add(new CampaignFinding(index, "exception", e.ToString(), generated?.Description ?? "(the generator failed)"));
        }

        return found;
    }

    /// <summary>
    /// True for <c>LD_ABS</c>/<c>LD_IND</c>: their bounds check is part of the instruction (in the kernel an
    /// out-of-bounds one ends the program), no engine may drop it and the verifier does not count them as accesses, so
    /// their stop is not a fault of a strictly verified program.
    /// </summary>
    private static bool IsLegacyPacketLoad(EbpfProgram program, int pc) =>
        pc < program.Length && (program.Instructions[pc].OpCode & 0x07) == 0 && (program.Instructions[pc].OpCode & 0xe0) is 0x20 or 0x40;

    /// <summary>The program's safety analysis in its environment, counted into <paramref name="tally"/>.</summary>
    private static SafetyAnalysis Analyse(DifferentialCase generated, long[] tally)
    {
        var safety = generated.Program.Analysis.Safety(SafetyContext.For(generated.Environment, generated.Options));
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
        return safety;
    }
}
