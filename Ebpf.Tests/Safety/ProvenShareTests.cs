using Ebpf.Analysis;
using Ebpf.Bench.Workloads;
using Ebpf.Cli.Loading;
using Ebpf.Elf;
using Ebpf.Kernel;
using Ebpf.Tests.Cli;
using Xunit.Abstractions;

namespace Ebpf.Tests.Safety;

/// <summary>
/// The share of memory accesses the analysis proves, per benchmark workload and per example, as <c>ebpf verify</c>
/// summarises it ("N of M memory accesses proven"): printed as the README's table. Every example is proven
/// completely (strict mode accepts it) and no workload has an error (hybrid mode accepts it).
/// </summary>
public class ProvenShareTests(ITestOutputHelper output)
{
    private static SafetyAnalysis Analyse(string path)
    {
        using var loaded = ProgramFile.Load(path);
        return loaded.Program.Analysis.Safety(SafetyContext.For(loaded.Environment));
    }

    [Fact]
    public void Every_example_is_proven_completely()
    {
        foreach (string name in new[] { "tcp_port.s", "block_port.o", "count_protocols.o", "global_data.o", "tail_calls.o" })
        {
            var analysis = Analyse(Tool.Example(name));
            output.WriteLine($"{name}: proven {analysis.ProvenCount} of {analysis.AccessCount} accesses");
            Assert.True(analysis.IsProven, $"{name}: {string.Join("\n", analysis.Errors.Concat(analysis.Unproven))}");
            Assert.Equal(analysis.AccessCount, analysis.ProvenCount);
        }
    }

    /// <summary>
    /// Every program of every ELF example: those of <c>examples/</c> in the raw memory model (as <c>ebpf verify</c> and
    /// the engines see them), those written for the kernel (<c>examples/kernel</c>) with their type's context layout and
    /// helpers (as <see cref="KernelProgram"/> loads them). Prints "file program: proven N of M (strict: yes/no)" and
    /// the distinct reasons for the rest; each is safe in hybrid mode.
    /// </summary>
    [Fact]
    public void Every_example_program_is_safe_and_its_proven_share_is_reported()
    {
        string examples = Tool.Example(string.Empty);
        var files = Directory.GetFiles(examples, "*.o").Concat(Directory.GetFiles(Path.Combine(examples, "kernel"), "*.o")).Order(StringComparer.Ordinal);
        int reported = 0;
        foreach (string file in files)
        {
            bool kernel = Path.GetFileName(Path.GetDirectoryName(file)) == "kernel";
            foreach (var info in ElfLoader.Load(file).Programs.Where(p => !p.IsSubprogram))
            {
                using var runtime = ElfLoader.Load(file).CreateRuntime();
                SafetyAnalysis analysis;
                if (kernel)
                {
                    var type = KernelProgramTypes.FromSection(info.Section)!.Value;
                    analysis = runtime.GetProgram(info.Name).Analysis.Safety(KernelProgram.AnalysisContext(runtime.Environment, type));
                }
                else
                {
                    analysis = runtime.GetProgram(info.Name).Analysis.Safety(SafetyContext.For(runtime.Environment));
                }

                var reasons = analysis.Unproven.Select(f => f.Message).Distinct();
                output.WriteLine($"{Path.GetRelativePath(examples, file)} {info.Name}: proven {analysis.ProvenCount} of {analysis.AccessCount} (strict: {(analysis.IsProven ? "yes" : "no")}); unproven: {string.Join("; ", reasons)}");
                Assert.True(analysis.IsSafe, $"{file} {info.Name}: {string.Join("\n", analysis.Errors)}");
                reported++;
            }
        }

        Assert.True(reported >= 25, $"{reported} programs");
    }

    [Fact]
    public void Every_workload_is_safe_and_its_proven_share_is_reported()
    {
        foreach (var workload in WorkloadCatalog.All.DistinctBy(w => w.ProgramFile))
        {
            var analysis = Analyse(Tool.Example(Path.Combine("bench", workload.ProgramFile)));
            var reasons = analysis.Unproven.Select(f => f.Message).Distinct();
            output.WriteLine($"{workload.ProgramName}: proven {analysis.ProvenCount} of {analysis.AccessCount} accesses; unproven: {string.Join("; ", reasons)}");
            Assert.True(analysis.IsSafe, $"{workload.Name}: {string.Join("\n", analysis.Errors)}");
            Assert.InRange(analysis.ProvenCount, 0, analysis.AccessCount);
        }
    }
}
