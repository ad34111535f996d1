using System.CommandLine;
using Ebpf.Cli.Loading;

namespace Ebpf.Cli.Commands;

/// <summary><c>ebpf verify FILE</c>: checks a program with the default verifier and the structural rules.</summary>
internal static class VerifyCommand
{
    public static Command Create(ToolContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The program: .bin, .s/.asm, .data or an ELF object" };
        var section = SharedOptions.Section();
        var command = new Command("verify", "Check a program without running it (exit code 0 when it is accepted)");
        command.Arguments.Add(file);
        command.Options.Add(section);
        context.SetAction(command, parse =>
        {
            string path = parse.GetValue(file)!;
            using var loaded = ProgramFile.Load(path, parse.GetValue(section));
            var program = loaded.Program;
            string which = loaded.Kind == ProgramKind.Elf ? $" {program.Name} (section {program.Section})" : string.Empty;
            context.Out.WriteLine($"{path}{which}: ok ({program.Length} slots, {program.Functions.Length} function(s))");
            return 0;
        });
        return command;
    }
}
