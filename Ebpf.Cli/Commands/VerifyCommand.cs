using System.CommandLine;
using Ebpf.Analysis;
using Ebpf.Cli.Loading;
using Ebpf.Helpers;
using Ebpf.Kernel;
using Ebpf.Verification;

namespace Ebpf.Cli.Commands;

/// <summary>
/// <c>ebpf verify FILE [--section S] [--type xdp|tc|socket|raw] [--strict] [--log]</c>: checks a program with the
/// default verifier and the structural rules, then runs the proving analysis with the program's helpers and maps. A
/// program written for the kernel (an ELF section libbpf gives a type, or <c>--type</c>) is analysed as
/// <see cref="KernelProgram"/> loads it: with its type's context layout and packet helpers, and what its load refuses
/// besides (<see cref="KernelProgram.LoadRefusals"/>: e.g. <c>egress_ifindex</c> read outside a devmap program) is
/// printed with its pc and makes the exit code 1; <c>--type raw</c> (and any
/// other program) in the raw memory model. Without <c>--strict</c> (hybrid mode) the exit code is 0 when the analysis
/// finds no error (the proof is summarised) and 1 when it finds one (the errors are printed); with it, 0 only when every
/// access is proven, otherwise the failing part of the log is printed and the exit code is 1. <c>--log</c> prints the
/// whole log.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(ToolContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The program: .bin, .s/.asm, .data or an ELF object" };
        var section = SharedOptions.Section();
        var strict = new Option<bool>("--strict") { Description = "Exit 0 only when every memory access is proven safe (kernel-like); else print why and exit 1" };
        var log = new Option<bool>("--log") { Description = "Print the whole verifier log: per instruction the register and stack state" };
        var type = new Option<string?>("--type")
        {
            Description = "Analyse as a kernel program of this type (xdp, tc, socket: its context layout and helpers) or in the raw memory model (raw); default: the type the ELF section names, else raw",
            HelpName = "TYPE",
        };
        var command = new Command("verify", "Check a program without running it (exit code 0 when it is accepted)");
        command.Arguments.Add(file);
        command.Options.Add(section);
        command.Options.Add(strict);
        command.Options.Add(log);
        command.Options.Add(type);
        context.SetAction(command, parse =>
        {
            string path = parse.GetValue(file)!;
            using var loaded = ProgramFile.Load(path, parse.GetValue(section));
            var program = loaded.Program;
            string which = loaded.Kind == ProgramKind.Elf ? $" {program.Name} (section {program.Section})" : string.Empty;
            bool withLog = parse.GetValue(log);
            SafetyAnalysis Analyse(SafetyContext safety) => withLog ? program.Analysis.SafetyWithLog(safety) : program.Analysis.Safety(safety);
            string? typeName = parse.GetValue(type);
            var kernelType = KernelType(typeName, loaded);
            SafetyAnalysis analysis;
            string model = string.Empty;
            IReadOnlyList<SafetyFinding> refusals = [];
            if (kernelType is { } kind)
            {
                var environment = loaded.Kind == ProgramKind.Elf ? loaded.Environment : LinuxHelpers.Register(new ProgramEnvironment());
                var safety = KernelProgram.AnalysisContext(environment, kind);
                analysis = Analyse(safety);
                model = $"; {kind} program ({safety.Layout!.Name} context)";
                if (typeName is null && !analysis.IsSafe && Analyse(SafetyContext.For(loaded.Environment)) is { IsSafe: true } raw)
                {
                    // A program in a kernel section written for the raw memory model (r1 = packet, r2 = its length, as
                    // the examples for `ebpf run` are): as a kernel program it reads registers the kernel leaves unset.
                    model = $"; raw memory model (with the {Short(kind)} context it has {analysis.Errors.Length} error(s); --type {Short(kind)} analyses it so)";
                    analysis = raw;
                }
                else
                {
                    // what loading it as a program of this type refuses besides the analysis' errors (as the kernel's
                    // verifier does at load: e.g. egress_ifindex read outside a devmap program)
                    refusals = KernelProgram.LoadRefusals(program, kind, analysis);
                }
            }
            else
            {
                analysis = Analyse(SafetyContext.For(loaded.Environment));
            }

            if (withLog)
            {
                context.Out.Write(analysis.Log);
            }

            bool demand = parse.GetValue(strict);
            string summary = $"{analysis.ProvenCount} of {analysis.AccessCount} memory accesses proven, {analysis.Unproven.Length} unproven point(s), {analysis.Errors.Length} error(s)";
            // Strict mode fails on anything unproven; hybrid mode (the default) on errors only: a program with an
            // error (an uninitialised read, a refuted access, a helper argument of the wrong kind) is one
            // ProvingVerifier's hybrid mode refuses to load, so the exit code says so as well.
            if ((demand && !analysis.IsProven) || !analysis.IsSafe || refusals.Count != 0)
            {
                foreach (var refusal in refusals)
                {
                    context.Out.WriteLine($"{refusal.Pc}: {refusal.Instruction}\n    refused at load: {refusal.Message}");
                }

                // A context access the load refuses is one the analysis refutes too (one set of rules serves both): its
                // error is the refusal, said once, in the kernel's words.
                var errors = KernelProgram.ErrorsBesidesRefusals(analysis, refusals);
                if (!withLog)
                {
                    foreach (var finding in errors)
                    {
                        context.Out.WriteLine(finding.ToLog("error"));
                    }

                    if (demand)
                    {
                        foreach (var finding in analysis.Unproven)
                        {
                            context.Out.WriteLine(finding.ToLog("unproven"));
                        }
                    }
                }

                string failure = refusals.Count != 0 && errors.Count == 0 && (!demand || analysis.Unproven.Length == 0)
                    ? "refused at load"
                    : demand ? "not proven safe" : "unsafe in hybrid mode";
                context.Out.WriteLine($"{path}{which}: {failure}{model} ({summary})");
                return 1;
            }

            string verdict = analysis.IsProven ? "proven safe" : "safe with run-time checks";
            context.Out.WriteLine($"{path}{which}: ok ({program.Length} slots, {program.Functions.Length} function(s)){model}; {verdict}: {summary}");
            return 0;
        });
        return command;
    }

    /// <summary>The <c>--type</c> value of <paramref name="type"/>.</summary>
    private static string Short(KernelProgramType type) => type switch
    {
        KernelProgramType.Xdp => "xdp",
        KernelProgramType.SchedCls => "tc",
        _ => "socket",
    };

    /// <summary>The kernel program type to analyse as: the one <paramref name="name"/> gives, none for <c>raw</c>, else the one the ELF section names.</summary>
    private static KernelProgramType? KernelType(string? name, LoadedProgram loaded)
    {
        if (name is null)
        {
            return loaded.Kind == ProgramKind.Elf ? KernelProgramTypes.FromSection(loaded.Program.Section) : null;
        }

        if (name.Equals("raw", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            return KernelProgramTypes.Parse(name);
        }
        catch (ArgumentException)
        {
            throw new ToolException($"unknown program type '{name}' (xdp, tc, socket, raw)", usage: true);
        }
    }
}
