namespace Ebpf.Diagnostics;

/// <summary>
/// An observer that counts how often each instruction executes, per program (a tail call adds the target program).
/// Counts accumulate over every run it observes; read them with <see cref="GetProfile"/>. One profiler serves one run
/// at a time.
/// </summary>
public sealed class ExecutionProfiler : IInstructionObserver
{
    private readonly Dictionary<EbpfProgram, long[]> counts = [];
    private readonly List<EbpfProgram> order = [];
    private EbpfProgram? lastProgram;
    private long[] lastCounts = [];

    /// <inheritdoc />
    public void OnInstruction(in InstructionStep step)
    {
        if (!ReferenceEquals(step.Program, lastProgram))
        {
            lastProgram = step.Program;
            if (!counts.TryGetValue(step.Program, out var programCounts))
            {
                programCounts = new long[step.Program.Length];
                counts.Add(step.Program, programCounts);
                order.Add(step.Program);
            }

            lastCounts = programCounts;
        }

        lastCounts[step.Pc]++;
    }

    /// <summary>A snapshot of the counts of <paramref name="program"/> (all zero when it never ran under this profiler).</summary>
    public ExecutionProfile GetProfile(EbpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return new ExecutionProfile(program, counts.TryGetValue(program, out var c) ? (long[])c.Clone() : new long[program.Length]);
    }

    /// <summary>The programs that executed at least one instruction, in the order they first did.</summary>
    public IReadOnlyList<EbpfProgram> Programs => order;
}
