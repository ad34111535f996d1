using System.CommandLine;
using Ebpf.Cli.Loading;
using Ebpf.Diagnostics;
using Ebpf.Interpreter;

namespace Ebpf.Cli.Diagnostics;

/// <summary>
/// The options of <c>ebpf run</c> that look inside a run: <c>--trace</c>, <c>--trace-json</c>, <c>--trace-on-error</c>
/// and <c>--profile</c>. Tracing and profiling run on the interpreter (the JIT engines have no per-instruction hook).
/// </summary>
internal sealed class RunDiagnostics
{
    /// <summary>How many instructions <c>--trace-on-error</c> prints before the failure.</summary>
    public const int ErrorTraceLength = 20;

    /// <summary><c>--trace</c>.</summary>
    public Option<bool> Trace { get; } = new("--trace")
    {
        Description = "Print every executed instruction: pc, text, the registers it changed and what stores wrote (interpreter)",
    };

    /// <summary><c>--trace-json</c>.</summary>
    public Option<bool> TraceJson { get; } = new("--trace-json")
    {
        Description = "Like --trace, one JSON object per line",
    };

    /// <summary><c>--trace-on-error</c>.</summary>
    public Option<bool> TraceOnError { get; } = new("--trace-on-error")
    {
        Description = $"When the run fails, run it again on the interpreter and print the last {ErrorTraceLength} instructions before the failure",
    };

    /// <summary><c>--profile</c>.</summary>
    public Option<bool> Profile { get; } = new("--profile")
    {
        Description = "Count executions per pc and print the hottest basic blocks, with C source lines when the ELF object has them (interpreter)",
    };

    /// <summary>The option among <c>--trace</c>, <c>--trace-json</c> and <c>--profile</c> given (they print to the output), or null.</summary>
    public string? OutputOption(ParseResult parse) =>
        parse.GetValue(Trace) ? "--trace" : parse.GetValue(TraceJson) ? "--trace-json" : parse.GetValue(Profile) ? "--profile" : null;

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Trace);
        command.Options.Add(TraceJson);
        command.Options.Add(TraceOnError);
        command.Options.Add(Profile);
    }

    /// <summary>
    /// Runs <paramref name="loaded"/> on <paramref name="engine"/> as the options ask: plainly, traced, profiled, or
    /// with a trace of the failure. Returns r0; a failed run throws after the diagnostics are printed.
    /// </summary>
    /// <exception cref="ToolException">Tracing or profiling was asked of an engine other than the interpreter.</exception>
    public ulong Run(ParseResult parse, ToolContext context, LoadedProgram loaded, IExecutionEngine engine, ExecutionOptions options, byte[] input)
    {
        bool trace = parse.GetValue(Trace);
        bool json = parse.GetValue(TraceJson);
        bool profile = parse.GetValue(Profile);
        if (trace && json)
        {
            throw new ToolException("give --trace or --trace-json, not both", usage: true);
        }

        if (trace || json || profile)
        {
            string what = profile ? "--profile" : trace ? "--trace" : "--trace-json";
            using var compiled = loaded.Compile(engine, options);
            var observable = compiled as IObservableProgram
                ?? throw new ToolException($"{what} needs the interpreter (engine '{engine.Name}' has no per-instruction hook): use --engine interpreter", usage: true);
            var profiler = profile ? new ExecutionProfiler() : null;
            var tracer = trace || json ? new ExecutionTracer(entry => context.Out.WriteLine(json ? entry.ToJson() : entry.ToString())) : null;
            IInstructionObserver observer = new Stoppable(context.Stopping, profiler is null ? tracer! : tracer is null ? profiler : new Both(tracer, profiler));
            ulong? r0 = null;
            try
            {
                r0 = observable.Run(input, [], observer);
                return r0.Value;
            }
            finally
            {
                tracer?.Complete(r0);
                if (profiler is not null)
                {
                    ProfileReport.Write(context.Out, profiler.GetProfile(loaded.Program), DebugInfo(loaded), 1);
                }
            }
        }

        byte[]? original = parse.GetValue(TraceOnError) ? input.ToArray() : null;
        using (var compiled = loaded.Compile(engine, options))
        {
            try
            {
                return compiled.Run(input, context.Stopping);
            }
            catch (EbpfRuntimeException failure) when (original is not null)
            {
                TraceFailure(context, loaded, options, original, engine, failure);
                throw;
            }
        }
    }

    /// <summary>
    /// Compiles <paramref name="loaded"/> on the interpreter of the tool's engines (a new one when the selector lacks
    /// it): the engine with the per-instruction hook.
    /// </summary>
    /// <exception cref="ToolException">The registered interpreter does not run programs under observers.</exception>
    public static IObservableProgram CompileObservable(ToolContext context, LoadedProgram loaded, ExecutionOptions options)
    {
        var interpreter = context.Engines.TryGet(InterpreterEngine.EngineName, out var found) ? found : new InterpreterEngine();
        var compiled = loaded.Compile(interpreter, options);
        if (compiled is IObservableProgram observable)
        {
            return observable;
        }

        compiled.Dispose();
        throw new ToolException($"the engine registered as '{InterpreterEngine.EngineName}' does not run programs under observers");
    }

    /// <summary>The source lines and relocation names of an ELF program; null for other kinds.</summary>
    public static ProgramDebugInfo? DebugInfo(LoadedProgram loaded) =>
        loaded.Runtime is { } runtime ? runtime.Object.GetDebugInfo(loaded.Program.Name) : null;

    private static void TraceFailure(ToolContext context, LoadedProgram loaded, ExecutionOptions options, byte[] input, IExecutionEngine engine, EbpfRuntimeException failure)
    {
        using var compiled = CompileObservable(context, loaded, options);
        var last = new Queue<TraceEntry>();
        string outcome;
        try
        {
            ulong r0 = ExecutionTracer.Run(compiled, input, entry =>
            {
                if (last.Count == ErrorTraceLength)
                {
                    last.Dequeue();
                }

                last.Enqueue(entry);
            });
            outcome = $"the interpreter completed the run with r0 = {Commands.ResultText.Format(r0)}: it disagrees with {engine.Name}";
        }
        catch (EbpfRuntimeException again)
        {
            outcome = again.Kind == failure.Kind && again.Pc == failure.Pc
                ? "the interpreter failed the same way"
                : $"the interpreter failed differently: {again.Message}";
        }

        context.Err.WriteLine($"ebpf: {engine.Name} failed; the last {last.Count} instruction(s) on the interpreter (maps keep what the first run stored):");
        foreach (var entry in last)
        {
            context.Err.WriteLine(entry.ToString());
        }

        context.Err.WriteLine($"ebpf: {outcome}");
    }

    /// <summary>Ends an observed run (which has no timeout) with the tool's interruption when Ctrl+C or SIGTERM arrives.</summary>
    private sealed class Stoppable(CancellationToken stopping, IInstructionObserver inner) : IInstructionObserver
    {
        public void OnInstruction(in InstructionStep step)
        {
            stopping.ThrowIfCancellationRequested();
            inner.OnInstruction(step);
        }
    }

    /// <summary>Two observers in turn.</summary>
    private sealed class Both(IInstructionObserver first, IInstructionObserver second) : IInstructionObserver
    {
        public void OnInstruction(in InstructionStep step)
        {
            first.OnInstruction(step);
            second.OnInstruction(step);
        }
    }
}
