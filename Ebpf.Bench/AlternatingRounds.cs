using System.Globalization;

namespace Ebpf.Bench;

/// <summary>
/// Per-run times of several configurations measured in alternating rounds in one process (<see cref="PairedChecksProbe"/>,
/// <see cref="SuiteProbe"/>): in each round every configuration runs a few batches and keeps its fastest (a batch the
/// scheduler interrupted is slow, never the fastest); the order rotates by one each round and reverses every other
/// round, so no configuration always follows another. Ratios are taken within a round.
/// </summary>
internal sealed class AlternatingRounds
{
    /// <summary>Batches per configuration and round.</summary>
    public const int Repeats = 5;

    private readonly string[] labels;
    private readonly double[,] times;

    private AlternatingRounds(string[] labels, double[,] times)
    {
        this.labels = labels;
        this.times = times;
    }

    /// <summary>
    /// Runs <paramref name="rounds"/> rounds over the configurations <paramref name="labels"/>;
    /// <paramref name="batch"/>(i) times one batch of configuration i and returns ns per run.
    /// </summary>
    public static AlternatingRounds Measure(string[] labels, int rounds, Func<int, double> batch)
    {
        var times = new double[labels.Length, rounds];
        for (int round = 0; round < rounds; round++)
        {
            for (int k = 0; k < labels.Length; k++)
            {
                int index = (k + round) % labels.Length;
                if (round % 2 == 1)
                {
                    index = labels.Length - 1 - index;
                }

                double best = double.MaxValue;
                for (int repeat = 0; repeat < Repeats; repeat++)
                {
                    best = Math.Min(best, batch(index));
                }

                times[index, round] = best;
            }
        }

        return new AlternatingRounds(labels, times);
    }

    /// <summary>The per-round times of <paramref name="label"/>.</summary>
    public double[] Of(string label) => Of([label]);

    /// <summary>
    /// Per round, the median time of the configurations <paramref name="group"/> (for example the same program compiled
    /// several times, so that no one code placement decides).
    /// </summary>
    public double[] Of(IReadOnlyList<string> group)
    {
        var indexes = group.Select(label => Array.IndexOf(labels, label) is var i and >= 0 ? i : throw new ArgumentException($"no configuration '{label}'", nameof(group))).ToArray();
        return Enumerable.Range(0, times.GetLength(1))
            .Select(round => Quantile(indexes.Select(i => times[i, round]).Order().ToArray(), 0.5))
            .ToArray();
    }

    /// <summary>The median over the rounds of <paramref name="label"/>'s time.</summary>
    public double Median(string label) => Median([label]);

    /// <summary>The median over the rounds of <paramref name="group"/>'s per-round median time.</summary>
    public double Median(IReadOnlyList<string> group) => Quantile(Of(group).Order().ToArray(), 0.5);

    /// <summary>Per round, <paramref name="numerator"/>'s time over <paramref name="denominator"/>'s.</summary>
    public double[] Ratio(string numerator, string denominator) => Ratio([numerator], [denominator]);

    /// <summary>Per round, the median time of <paramref name="numerator"/> over that of <paramref name="denominator"/>.</summary>
    public double[] Ratio(IReadOnlyList<string> numerator, IReadOnlyList<string> denominator) =>
        Of(numerator).Zip(Of(denominator), (a, b) => a / b).ToArray();

    /// <summary>The quartiles and median of <paramref name="values"/>.</summary>
    public static (double Low, double Median, double High) Quartiles(double[] values)
    {
        var sorted = values.Order().ToArray();
        return (Quantile(sorted, 0.25), Quantile(sorted, 0.5), Quantile(sorted, 0.75));
    }

    /// <summary>The <paramref name="q"/> quantile of sorted values, interpolated between neighbours.</summary>
    public static double Quantile(double[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }

    /// <summary>A time in ns, ns/us/ms as fits.</summary>
    public static string Time(double ns) => ns switch
    {
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{ns / 1_000_000:0.00} ms"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{ns / 1_000:0.00} us"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{ns:0.0} ns"),
    };
}
