using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Ebpf.Diagnostics;

/// <summary>
/// The library's metrics and traces: the <see cref="System.Diagnostics.Metrics.Meter"/> named <c>Ebpf</c> and the
/// <see cref="ActivitySource"/> named <c>Ebpf</c> (one activity per compilation). Every instrument is tagged with the
/// engine's name (<c>ebpf.engine</c>). With no listener the hooks cost a flag test per run; listen with
/// <c>dotnet-counters monitor --counters Ebpf</c>, OpenTelemetry (<c>AddMeter("Ebpf")</c>, <c>AddSource("Ebpf")</c>)
/// or a <see cref="MeterListener"/>.
/// </summary>
public static class EbpfTelemetry
{
    /// <summary>The name of the meter and of the activity source: <c>Ebpf</c>.</summary>
    public const string Name = "Ebpf";

    /// <summary>The tag that names the engine.</summary>
    public const string EngineTag = "ebpf.engine";

    /// <summary>The tag of <c>ebpf.runs</c> that tells how a run ended: <c>ok</c> or a <see cref="RuntimeErrorKind"/>.</summary>
    public const string ResultTag = "ebpf.result";

    /// <summary>The meter <c>Ebpf</c>.</summary>
    public static Meter Meter { get; } = new(Name);

    /// <summary>The activity source <c>Ebpf</c>: an activity <c>ebpf.compile</c> per compilation.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name);

    /// <summary><c>ebpf.runs</c>: runs that ended, tagged with the engine and the result.</summary>
    public static Counter<long> Runs { get; } = Meter.CreateCounter<long>("ebpf.runs", "{run}", "Runs that ended, by engine and result");

    /// <summary><c>ebpf.run.duration</c>: how long runs took, in seconds.</summary>
    public static Histogram<double> RunDuration { get; } = Meter.CreateHistogram<double>("ebpf.run.duration", "s", "How long runs took");

    /// <summary><c>ebpf.run.budget_stops</c>: runs stopped by their instruction budget.</summary>
    public static Counter<long> BudgetStops { get; } = Meter.CreateCounter<long>("ebpf.run.budget_stops", "{run}", "Runs stopped by their instruction budget");

    /// <summary><c>ebpf.run.memory_violations</c>: runs stopped by an access outside their regions.</summary>
    public static Counter<long> MemoryViolations { get; } = Meter.CreateCounter<long>("ebpf.run.memory_violations", "{run}", "Runs stopped by a memory access outside their regions");

    /// <summary><c>ebpf.run.helper_failures</c>: runs stopped because a helper threw or was unknown.</summary>
    public static Counter<long> HelperFailures { get; } = Meter.CreateCounter<long>("ebpf.run.helper_failures", "{run}", "Runs stopped by a failing or unknown helper");

    /// <summary><c>ebpf.compile.duration</c>: how long compilations took, in seconds, per engine.</summary>
    public static Histogram<double> CompileDuration { get; } = Meter.CreateHistogram<double>("ebpf.compile.duration", "s", "How long compilations took");

    /// <summary>
    /// The logger of <paramref name="category"/> from the container's <see cref="ILoggerFactory"/>, or null when it has
    /// none (used by the engines' registrations).
    /// </summary>
    public static ILogger? LoggerFrom(IServiceProvider services, string category)
    {
        ArgumentNullException.ThrowIfNull(services);
        return (services.GetService(typeof(ILoggerFactory)) as ILoggerFactory)?.CreateLogger(category);
    }

    /// <summary>
    /// True when a listener wants run counts or durations (then runs are timed). Always inlined: the direct-run methods
    /// are compiled without a profile (see <c>CompiledProgram.RunNativeDirect</c>), and without one the JIT left this a
    /// call of its own on every run.
    /// </summary>
    internal static bool RunsObserved
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Runs.Enabled || RunDuration.Enabled;
    }

    /// <summary>Records a run that returned.</summary>
    internal static void RunCompleted(string engine, long startTimestamp)
    {
        var tag = new KeyValuePair<string, object?>(EngineTag, engine);
        Runs.Add(1, tag, new KeyValuePair<string, object?>(ResultTag, "ok"));
        if (RunDuration.Enabled)
        {
            RunDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tag);
        }
    }

    /// <summary>Records a run that failed; always false, for use as an exception filter that lets the error pass.</summary>
    internal static bool RunFailed(string engine, EbpfRuntimeException error, long startTimestamp)
    {
        var tag = new KeyValuePair<string, object?>(EngineTag, engine);
        Runs.Add(1, tag, new KeyValuePair<string, object?>(ResultTag, error.Kind.ToString()));
        if (RunDuration.Enabled && startTimestamp != 0)
        {
            RunDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tag);
        }

        var counter = error.Kind switch
        {
            RuntimeErrorKind.BudgetExceeded => BudgetStops,
            RuntimeErrorKind.MemoryAccessViolation => MemoryViolations,
            RuntimeErrorKind.HelperFailed or RuntimeErrorKind.UnknownHelper => HelperFailures,
            _ => null,
        };
        counter?.Add(1, tag);
        return false;
    }

    /// <summary>
    /// Compiles with telemetry: an <c>ebpf.compile</c> activity (when the source has listeners), the
    /// <c>ebpf.compile.duration</c> histogram, and a debug line on <paramref name="logger"/>. Engines call it from
    /// their <see cref="IExecutionEngine.Compile"/>.
    /// </summary>
    /// <param name="engine">The engine's name.</param>
    /// <param name="program">The program being compiled.</param>
    /// <param name="logger">Where the compilation is logged (category of the engine), or null.</param>
    /// <param name="compile">The compilation itself.</param>
    public static ICompiledProgram Compile(string engine, EbpfProgram program, ILogger? logger, Func<ICompiledProgram> compile)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(compile);
        using var activity = ActivitySource.StartActivity("ebpf.compile");
        activity?.SetTag(EngineTag, engine);
        activity?.SetTag("ebpf.program", program.Name ?? "program");
        activity?.SetTag("ebpf.slots", program.Length);
        long start = Stopwatch.GetTimestamp();
        try
        {
            var compiled = compile();
            var elapsed = Stopwatch.GetElapsedTime(start);
            CompileDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(EngineTag, engine));
            if (logger is not null)
            {
                EngineLog.Compiled(logger, program.Name ?? "program", program.Length, engine, elapsed.TotalMilliseconds);
            }

            return compiled;
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            if (logger is not null)
            {
                EngineLog.CompileFailed(logger, e, program.Name ?? "program", engine);
            }

            throw;
        }
    }
}
