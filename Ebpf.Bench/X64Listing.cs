using Ebpf.Bench.Workloads;
using Ebpf.X64;

namespace Ebpf.Bench;

/// <summary>
/// <c>--listing</c>: the x64 engine's machine code (<see cref="X64CompiledProgram.GetListing"/>) for the workloads
/// <c>--workloads</c> names, once per x64 configuration <c>--engines</c> selects (checked and unchecked), to read what a
/// benchmark runs. Prints nothing for a configuration whose engine is not x64.
/// </summary>
internal static class X64Listing
{
    public static void Report(TextWriter output, IEnumerable<string> workloads)
    {
        foreach (var name in workloads)
        {
            var workload = WorkloadCatalog.Get(name);
            foreach (var configuration in BenchEngines.Configurations.Where(c => c.Engine.Name == "x64" && BenchSelection.IncludesEngine(c.Label)))
            {
                using var compiled = workload.Compile(configuration.Engine, configuration.Options);
                if (compiled.Program is X64CompiledProgram x64)
                {
                    output.WriteLine($"=== {name} on {configuration.Label}");
                    output.WriteLine(x64.GetListing());
                }
            }
        }
    }
}
