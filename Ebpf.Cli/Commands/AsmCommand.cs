using System.CommandLine;
using Ebpf.Cli.Loading;
using Ebpf.Isa;

namespace Ebpf.Cli.Commands;

/// <summary><c>ebpf asm IN [-o OUT]</c>: assembles a text file into raw bytecode.</summary>
internal static class AsmCommand
{
    public static Command Create(ToolContext context)
    {
        var input = new Argument<string>("IN") { Description = "The assembly file (.s, .asm, or a .data test's asm section)" };
        var output = new Option<string?>("--output", "-o")
        {
            Description = "The bytecode file to write (default: IN with the extension .bin)",
            HelpName = "OUT",
        };
        var command = new Command("asm", "Assemble a program into raw bytecode (8 bytes per slot)");
        command.Arguments.Add(input);
        command.Options.Add(output);
        context.SetAction(command, parse =>
        {
            string path = parse.GetValue(input)!;
            var code = ProgramFile.ReadCode(path);
            string target = parse.GetValue(output) ?? Path.ChangeExtension(path, ".bin");
            if (Path.GetFullPath(target) == Path.GetFullPath(path))
            {
                throw new ToolException($"the output '{target}' would overwrite the input; choose another with -o");
            }

            var bytes = code[0].Code;
            try
            {
                File.WriteAllBytes(target, bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ToolException($"cannot write '{target}': {e.Message}", e);
            }

            context.Out.WriteLine($"wrote {bytes.Length / Instruction.SlotSize} slots ({bytes.Length} bytes) to {target}");
            return 0;
        });
        return command;
    }
}
