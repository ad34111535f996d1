using System.CommandLine;
using Ebpf.Analysis;
using Ebpf.Cli.Loading;
using Ebpf.Verification;

namespace Ebpf.Cli.Commands;

/// <summary>
/// <c>ebpf verify FILE [--section S] [--strict] [--log]</c>: checks a program with the default verifier and the
/// structural rules, then runs the proving analysis with the program's helpers and maps. Without <c>--strict</c> the
/// exit code is 0 when the program loads (the proof is summarised); with it, 0 only when every access is proven,
/// otherwise the failing part of the log is printed and the exit code is 1. <c>--log</c> prints the whole log.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(ToolContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The program: .bin, .s/.asm, .data or an ELF object" };
        var section = SharedOptions.Section();
        var strict = new Option<bool>("--strict") { Description = "Exit 0 only when every memory access is proven safe (kernel-like); else print why and exit 1" };
        var log = new Option<bool>("--log") { Description = "Print the whole verifier log: per instruction the register and stack state" };
        var command = new Command("verify", "Check a program without running it (exit code 0 when it is accepted)");
        command.Arguments.Add(file);
        command.Options.Add(section);
        command.Options.Add(strict);
        command.Options.Add(log);
        context.SetAction(command, parse =>
        {
            string path = parse.GetValue(file)!;
            using var loaded = ProgramFile.Load(path, parse.GetValue(section));
            var program = loaded.Program;
            string which = loaded.Kind == ProgramKind.Elf ? $" {program.Name} (section {program.Section})" : string.Empty;
            var safetyContext = SafetyContext.For(loaded.Environment);
            bool withLog = parse.GetValue(log);
            var analysis = withLog ? program.Analysis.SafetyWithLog(safetyContext) : program.Analysis.Safety(safetyContext);
            if (withLog)
            {
                context.Out.Write(analysis.Log);
            }

            bool demand = parse.GetValue(strict);
            string summary = $"{analysis.ProvenCount} of {analysis.AccessCount} memory accesses proven, {analysis.Unproven.Length} unproven point(s), {analysis.Errors.Length} error(s)";
            if (demand && !analysis.IsProven)
            {
                if (!withLog)
                {
                    foreach (var finding in analysis.Errors)
                    {
                        context.Out.WriteLine(finding.ToLog("error"));
                    }

                    foreach (var finding in analysis.Unproven)
                    {
                        context.Out.WriteLine(finding.ToLog("unproven"));
                    }
                }

                context.Out.WriteLine($"{path}{which}: not proven safe ({summary})");
                return 1;
            }

            string verdict = analysis.IsProven ? "proven safe" : analysis.IsSafe ? "safe with run-time checks" : "unsafe in hybrid mode";
            context.Out.WriteLine($"{path}{which}: ok ({program.Length} slots, {program.Functions.Length} function(s)); {verdict}: {summary}");
            return 0;
        });
        return command;
    }
}
