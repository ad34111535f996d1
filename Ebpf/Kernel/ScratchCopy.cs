using Ebpf.Elf;
using Ebpf.Maps;

namespace Ebpf.Kernel;

/// <summary>
/// A second, private load of a kernel program on which single test runs are timed (see
/// <see cref="TestRunOptions.WarmUp"/>): a runtime of its own made from the same object and options (trace output
/// off), whose key-value maps start as copies of the real runtime's, and the program loaded there with the same engine,
/// type and execution options. Its first <see cref="TestRunOptions.WarmUpRuns"/> runs warm the code up; later runs are
/// timed. Nothing it does reaches the real runtime's maps.
/// </summary>
internal sealed class ScratchCopy : IDisposable
{
    private readonly ElfRuntime runtime;
    private readonly KernelProgram program;
    private bool warm;

    private ScratchCopy(ElfRuntime runtime, KernelProgram program)
    {
        this.runtime = runtime;
        this.program = program;
    }

    /// <summary>Loads the copy of program <paramref name="name"/> of <paramref name="original"/>'s object.</summary>
    /// <exception cref="EbpfException">The copy cannot be loaded.</exception>
    public static ScratchCopy Create(ElfRuntime original, IExecutionEngine engine, string? name, KernelProgramType type, ExecutionOptions options)
    {
        var runtimeOptions = original.Options with { Helpers = original.Options.Helpers with { TraceOutput = null, TraceLogger = null } };
        var runtime = original.Object.CreateRuntime(runtimeOptions);
        try
        {
            CopyEntries(original, runtime);
            return new ScratchCopy(runtime, KernelProgram.Load(runtime, engine, name, type, options));
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    /// <summary>The CPU time of one run on <paramref name="packet"/>, after the warm-up runs the first time.</summary>
    /// <exception cref="EbpfException">A run failed.</exception>
    public long Time(ReadOnlySpan<byte> packet, TestRunOptions options, CancellationToken cancellationToken)
    {
        var single = options with { Repeat = 1, WarmUp = false };
        for (int i = warm ? 0 : TestRunOptions.WarmUpRuns; i > 0; i--)
        {
            program.TestRun(packet, single, cancellationToken);
        }

        warm = true;

        long nanoseconds = program.TestRun(packet, single, cancellationToken).DurationNanoseconds;
        foreach (var ring in runtime.Maps.OfType<RingBufferMap>())
        {
            // Records the copy's runs wrote would fill the ring and change what later runs do.
            ring.Drain(static _ => { });
        }

        return nanoseconds;
    }

    /// <summary>
    /// Runs the copy on <paramref name="packet"/> (untimed) for at least <see cref="TestRunOptions.TieringWarmUp"/> and
    /// until .NET has stopped recompiling (see <see cref="Diagnostics.TieringSettler"/>), so that the real runs are timed
    /// on the run path as .NET finally compiles it: tiered compilation starts every method with quickly compiled,
    /// unoptimised code and replaces the hot ones only after about 100 ms without new compilations, in up to two steps,
    /// longer than a test run of a million runs takes.
    /// </summary>
    /// <exception cref="EbpfException">A run failed.</exception>
    public void WarmUpRunPath(ReadOnlySpan<byte> packet, TestRunOptions options, CancellationToken cancellationToken)
    {
        var batch = options with { Repeat = 1_000, WarmUp = false };
        var copy = packet.ToArray();
        Diagnostics.TieringSettler.Run(
            static state =>
            {
                state.Copy.program.TestRun(state.Packet, state.Batch, state.Token);
                foreach (var ring in state.Copy.runtime.Maps.OfType<RingBufferMap>())
                {
                    ring.Drain(static _ => { });
                }
            },
            (Copy: this, Packet: copy, Batch: batch, Token: cancellationToken),
            TestRunOptions.TieringWarmUp,
            cancellationToken: cancellationToken);
        warm = true;
    }

    public void Dispose()
    {
        program.Dispose();
        runtime.Dispose();
    }

    /// <summary>Copies the entries of the maps that hold keys and values (arrays, hashes, LRU, LPM tries, device maps), so that the copy's runs take the paths the real ones take.</summary>
    private static void CopyEntries(ElfRuntime from, ElfRuntime to)
    {
        for (int i = 0; i < from.Maps.Count; i++)
        {
            var source = from.Maps[i];
            if (source.Type is BpfMapType.RingBuffer or BpfMapType.ProgramArray or BpfMapType.Queue or BpfMapType.Stack
                or BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps)
            {
                continue;
            }

            foreach (var (key, value) in source.GetEntries())
            {
                try
                {
                    to.Maps[i].Update(key, value);
                }
                catch (Exception e) when (e is ArgumentException or EbpfException)
                {
                    // An entry the copy does not take only makes its runs less like the real ones: the timing is all it serves.
                }
            }
        }
    }
}
