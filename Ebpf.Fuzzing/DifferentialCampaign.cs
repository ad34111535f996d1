using System.Collections.Concurrent;
using System.Diagnostics;

namespace Ebpf.Fuzzing;

/// <summary>
/// Runs many generated programs through a <see cref="DifferentialRunner"/> in parallel. Program <c>i</c> comes from
/// the generator given <c>i</c>, so a finding is reproduced from the campaign's seed and its index alone, whatever the
/// parallelism.
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
        long next = -1;
        var workers = Enumerable.Range(0, Math.Max(1, Parallelism)).Select(_ => Task.Factory.StartNew(
            () =>
            {
                long index;
                while (!cancellation.IsCancellationRequested && (index = Interlocked.Increment(ref next)) < programs)
                {
                    var finding = RunOne(index, outcomes);
                    if (finding is not null)
                    {
                        Interlocked.Increment(ref finding.Kind == "mismatch" ? ref mismatches : ref exceptions);
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
            clock.Elapsed);
    }

    private CampaignFinding? RunOne(long index, ConcurrentDictionary<string, long> outcomes)
    {
        DifferentialCase? generated = null;
        try
        {
            generated = generate(index);
            var verdict = runner.Compare(generated.Program, generated.Input, generated.Environment, generated.Options);
            string outcome = verdict.Reference.StartsWith("r0=", StringComparison.Ordinal) ? "result" : verdict.Reference.Split(' ')[0];
            outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            return verdict.Mismatch is { } mismatch ? new CampaignFinding(index, "mismatch", mismatch, generated.Description) : null;
        }
        catch (Exception e)
        {
            return new CampaignFinding(index, "exception", e.ToString(), generated?.Description ?? "(the generator failed)");
        }
    }
}
