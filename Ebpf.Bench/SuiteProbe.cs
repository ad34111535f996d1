using System.Globalization;
using Ebpf.Bench.Workloads;

namespace Ebpf.Bench;

/// <summary>
/// <c>--suite NATIVE.so</c>: the whole run-time suite with native code in the same process. Per workload, the native
/// function (from <see cref="NativeReference"/>) and every selected engine configuration run on one 64-byte-aligned
/// input buffer, in short batches that alternate round after round (the order rotates by one and reverses every other
/// round); a round keeps each one's fastest of a few batches (after a warm-up that lasts until the runtime has stopped
/// compiling and the per-run time stops improving, so that the run path is at tier 1), and each ratio to native is
/// taken within a round, seconds apart at most. So a slow phase of the host hits native and the engines alike, and the input's placement is the same
/// for all. Reported per workload and configuration: the median time over the rounds, the median ratio to native with
/// its quartiles; then per configuration the geometric mean of the median ratios over every measured workload, short
/// ones included. Every configuration's r0 is checked against the catalog's expected value before and after the rounds.
/// One engine per process (<c>--engines x64,x64-unchecked</c>) keeps the shared run path's profile to that engine, as in a
/// user's process; <c>bench/suite.sh</c> does that for every engine.
/// </summary>
internal static unsafe class SuiteProbe
{
    private static readonly TimeSpan MinimumWarmUp = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan MaximumWarmUp = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan BatchTime = TimeSpan.FromMilliseconds(0.3);

    private const string Native = "native";

    /// <summary>The geometric-mean targets of issue 11 (memory checks on).</summary>
    private static readonly Dictionary<string, double> Targets = new() { ["x64"] = 2.0, ["il"] = 2.5, ["interpreter"] = 80.0 };

    /// <summary>Measures <paramref name="workloads"/> over <paramref name="rounds"/> rounds and writes the tables.</summary>
    public static void Report(TextWriter output, string nativeLibrary, IEnumerable<string> workloads, int rounds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 3);
        using var native = NativeReference.Load(nativeLibrary);
        var configurations = BenchEngines.Configurations.Where(c => BenchSelection.IncludesEngine(c.Label)).ToArray();
        if (configurations.Length == 0)
        {
            output.WriteLine("no engine configuration selected");
            return;
        }

        output.WriteLine($"per-run time: per round and configuration the fastest of {AlternatingRounds.Repeats} batches of ~{BatchTime.TotalMilliseconds} ms (at least one run); median over {rounds} alternating rounds, native in the same rounds; ratio to native per round, median [quartiles]");
        output.WriteLine();
        output.WriteLine($"| workload | native | {string.Join(" | ", configurations.Select(c => c.Label))} |");
        output.WriteLine($"|---|---:|{string.Concat(configurations.Select(_ => "---:|"))}");
        var logRatios = configurations.ToDictionary(c => c.Label, _ => new List<double>());
        foreach (var name in workloads)
        {
            var result = Measure(WorkloadCatalog.Get(name), native, configurations, rounds);
            var cells = configurations.Select(c =>
            {
                var ratio = AlternatingRounds.Quartiles(result.Ratio(c.Label, Native));
                logRatios[c.Label].Add(Math.Log(ratio.Median));
                return string.Create(CultureInfo.InvariantCulture, $"{AlternatingRounds.Time(result.Median(c.Label))} ({ratio.Median:0.00}x [{ratio.Low:0.00}, {ratio.High:0.00}])");
            });
            output.WriteLine($"| {name} | {AlternatingRounds.Time(result.Median(Native))} | {string.Join(" | ", cells)} |");
        }

        output.WriteLine();
        foreach (var configuration in configurations)
        {
            var list = logRatios[configuration.Label];
            double geomean = Math.Exp(list.Average());
            string target = configuration.Options.MemoryChecks && Targets.TryGetValue(configuration.Engine.Name, out double t)
                ? string.Create(CultureInfo.InvariantCulture, $" (target <= {t:0.0}x: {(geomean <= t ? "met" : "not met")})")
                : "";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{configuration.Label}: geometric mean of the median ratios to native over {list.Count} workload(s): {geomean:0.00}x{target}"));
        }
    }

    private static AlternatingRounds Measure(Workload workload, NativeReference native, EngineConfiguration[] configurations, int rounds)
    {
        using var input = native.Prepare(workload.Name, workload.CreateInput());
        var compiled = new List<CompiledWorkload>();
        try
        {
            foreach (var configuration in configurations)
            {
                compiled.Add(workload.Compile(configuration.Engine, configuration.Options));
            }

            // Index 0 is native, index i the configuration i - 1.
            var nativeRun = new NativeRun(input.Function, input.Buffer, (ulong)input.Length);
            var runs = compiled.Select(c => new SpanRun(c.Program, input.Buffer, input.Length)).ToArray();
            var labels = new[] { Native }.Concat(configurations.Select(c => c.Label)).ToArray();
            Check(workload, labels, nativeRun, runs);
            var batches = new int[labels.Length];
            batches[0] = WarmAndCalibrate(nativeRun);
            for (int i = 1; i < labels.Length; i++)
            {
                batches[i] = WarmAndCalibrate(runs[i - 1]);
            }

            var result = AlternatingRounds.Measure(labels, rounds, index => index == 0
                ? RunFloorProbe.Batch(nativeRun, batches[0])
                : RunFloorProbe.Batch(runs[index - 1], batches[index]));
            Check(workload, labels, nativeRun, runs);
            return result;
        }
        finally
        {
            foreach (var program in compiled)
            {
                program.Dispose();
            }
        }
    }

    /// <summary>Warms <paramref name="run"/> up until it is steady (see <see cref="RunFloorProbe.WarmUntilSteady"/>); returns its runs per batch.</summary>
    private static int WarmAndCalibrate<TRun>(TRun run)
        where TRun : struct, IFloorRun
    {
        RunFloorProbe.WarmUntilSteady(run, MinimumWarmUp, MaximumWarmUp);
        return RunFloorProbe.Calibrate(run, TimeSpan.Zero, BatchTime, firstRuns: 1);
    }

    /// <summary>Every configuration, native included, returns the catalog's r0 on the shared buffer.</summary>
    private static void Check(Workload workload, string[] labels, NativeRun nativeRun, SpanRun[] runs)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            ulong r0 = i == 0 ? nativeRun.Run() : runs[i - 1].Run();
            if (r0 != workload.Expected)
            {
                throw new InvalidOperationException($"{labels[i]} returned {r0} on {workload.Name}; the catalog expects {workload.Expected}");
            }
        }
    }

    /// <summary>The native function on the shared buffer: one indirect call without a GC transition.</summary>
    private readonly struct NativeRun(delegate* unmanaged[SuppressGCTransition]<byte*, ulong, ulong> function, byte* buffer, ulong length) : IFloorRun
    {
        private readonly delegate* unmanaged[SuppressGCTransition]<byte*, ulong, ulong> function = function;
        private readonly byte* buffer = buffer;
        private readonly ulong length = length;

        public ulong Run() => function(buffer, length);
    }

    /// <summary>A user's run on the shared buffer: <see cref="ICompiledProgram.Run(Span{byte})"/>.</summary>
    private readonly struct SpanRun(ICompiledProgram program, byte* buffer, int length) : IFloorRun
    {
        private readonly ICompiledProgram program = program;
        private readonly byte* buffer = buffer;
        private readonly int length = length;

        public ulong Run() => program.Run(new Span<byte>(buffer, length));
    }
}
