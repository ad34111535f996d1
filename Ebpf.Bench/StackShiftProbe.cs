using System.Globalization;
using System.Runtime.CompilerServices;
using Ebpf.Bench.Workloads;

namespace Ebpf.Bench;

/// <summary>
/// <c>--floor-shifts</c>: the <c>--floor</c> measurement of the workloads <c>--workloads</c> names (default
/// <c>helper_calls</c>) repeated with the measuring loop's frame moved down the thread's stack by 0 to 3,840 bytes in
/// steps of 256: a time that depends on the shift depends on where the run's frames fall in the stack (e.g. 4 KiB
/// aliasing between the stack and the thread's run state), which a harness with other frames above the run (such as
/// BenchmarkDotNet's) then sees differently.
/// </summary>
internal static class StackShiftProbe
{
    private const int Step = 256;

    public static void Report(TextWriter output, IEnumerable<string> workloads)
    {
        output.WriteLine($"per-run time in ns by stack shift in bytes (fastest batch, as --floor)");
        foreach (var configuration in BenchEngines.Configurations.Where(c => c.Options.MemoryChecks && BenchSelection.IncludesEngine(c.Label)))
        {
            foreach (var name in workloads)
            {
                var workload = WorkloadCatalog.Get(name);
                using var compiled = workload.Compile(configuration.Engine, configuration.Options);
                var input = workload.CreateInput();
                for (int shift = 0; shift < 4096; shift += Step)
                {
                    double ns = Shifted(shift, compiled.Program, input);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{configuration.Label,-12} {name,-16} {shift,5} {ns,10:0.0}"));
                }
            }
        }
    }

    /// <summary>Measures with <paramref name="shift"/> bytes of this frame between the caller's frames and the loop's.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe double Shifted(int shift, ICompiledProgram compiled, byte[] input)
    {
        byte* gap = stackalloc byte[shift + 16];
        gap[0] = 1;
        double ns = Measure(compiled, input);
        return ns + (gap[0] - 1);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double Measure(ICompiledProgram compiled, byte[] input) => RunFloorProbe.Measure(new Run(compiled, input));

    private readonly struct Run(ICompiledProgram compiled, byte[] input) : IFloorRun
    {
        ulong IFloorRun.Run() => compiled.Run(input);
    }
}
