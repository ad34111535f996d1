using System.CommandLine;
using System.Globalization;
using Ebpf.Cli.Loading;
using Ebpf.Diagnostics;
using Ebpf.Isa;

namespace Ebpf.Cli.Diagnostics;

/// <summary>Prints an <see cref="ExecutionProfile"/>: the hottest basic blocks (with their C source lines when known), then the count of every executed pc.</summary>
internal static class ProfileReport
{
    /// <summary>The number of blocks listed as hottest.</summary>
    public const int HotBlocks = 10;

    /// <summary>A new <c>--profile</c> option for <c>ebpf bench</c>.</summary>
    public static Option<bool> Option() => new("--profile")
    {
        Description = "After timing, count executions per pc over ITERATIONS interpreter runs (default 1) and print the hottest basic blocks, with C source lines when the ELF object has them",
    };

    /// <summary>Runs <paramref name="loaded"/> <paramref name="runs"/> times on the interpreter under a profiler (each run on a fresh copy of <paramref name="input"/>) and writes the report.</summary>
    public static void Profile(ToolContext context, LoadedProgram loaded, ExecutionOptions options, byte[] input, long runs)
    {
        using var compiled = RunDiagnostics.CompileObservable(context, loaded, options);
        var profiler = new ExecutionProfiler();
        for (long i = 0; i < runs; i++)
        {
            compiled.Run(input.ToArray(), [], profiler);
        }

        context.Out.WriteLine();
        Write(context.Out, profiler.GetProfile(loaded.Program), RunDiagnostics.DebugInfo(loaded), runs);
    }

    /// <summary>Writes the report of <paramref name="profile"/> over <paramref name="runs"/> runs.</summary>
    public static void Write(TextWriter output, ExecutionProfile profile, ProgramDebugInfo? info, long runs)
    {
        var c = CultureInfo.InvariantCulture;
        var program = profile.Program;
        output.WriteLine(string.Create(c, $"profile of {program.Name ?? "the program"}: {profile.TotalInstructions} instructions executed in {runs} run(s)"));
        if (info?.LineInfoProblem is { } problem)
        {
            output.WriteLine($"(no source lines: {problem})");
        }

        output.WriteLine(string.Create(c, $"hottest basic blocks (of {profile.Blocks.Count}):"));
        output.WriteLine(string.Create(c, $"  {"pcs",-11} {"entered",10} {"instructions",12} {"share",6}  source"));
        long total = Math.Max(1, profile.TotalInstructions);
        foreach (var block in profile.Hottest(HotBlocks))
        {
            string share = (100.0 * block.Instructions / total).ToString("F1", c) + "%";
            output.WriteLine(string.Create(c, $"  {$"{block.Start}-{block.End - 1}",-11} {block.Executions,10} {block.Instructions,12} {share,6}  {Describe(program, block, info)}"));
        }

        output.WriteLine("instructions executed per pc:");
        for (int pc = 0; pc < program.Length; pc++)
        {
            long count = profile.Counts[pc];
            if (count == 0)
            {
                continue;
            }

            string line = info?.LineAt(pc) is { } source ? $"  ; {source.Location}" : string.Empty;
            output.WriteLine(string.Create(c, $"  {pc,6}: {count,10}  {Text(program, pc)}{line}"));
        }
    }

    /// <summary>The source lines a block spans (first to last distinct), or its first instruction when there are none.</summary>
    private static string Describe(EbpfProgram program, BasicBlockProfile block, ProgramDebugInfo? info)
    {
        var lines = new List<SourceLine>();
        for (int pc = block.Start; pc < block.End; pc++)
        {
            if (info?.LineAt(pc) is { } line && !lines.Any(l => l.Location == line.Location))
            {
                lines.Add(line);
            }
        }

        if (lines.Count == 0)
        {
            return Text(program, block.Start) + (block.End - block.Start > 1 ? " ..." : string.Empty);
        }

        return string.Join(" | ", lines.Select(l => l.ToString()));
    }

    private static string Text(EbpfProgram program, int pc)
    {
        var code = program.Instructions;
        return pc + 1 < code.Length ? InstructionFormatter.Format(code[pc], code[pc + 1]) : InstructionFormatter.Format(code[pc]);
    }
}
