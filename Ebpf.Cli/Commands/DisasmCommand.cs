using System.CommandLine;
using Ebpf.Assembly;
using Ebpf.Cli.Loading;

namespace Ebpf.Cli.Commands;

/// <summary><c>ebpf disasm FILE</c>: lists a program's slots with pc, bytes and text.</summary>
internal static class DisasmCommand
{
    public static Command Create(ToolContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The program: .bin, .s/.asm, .data or an ELF object (every program section)" };
        var syntax = new Option<string>("--syntax")
        {
            Description = "canonical (the form the assembler reads back) or llvm (clang's form, as llvm-objdump -d prints it, with map and global names for ELF objects)",
            HelpName = "canonical|llvm",
            DefaultValueFactory = _ => "canonical",
        };
        syntax.AcceptOnlyFromAmong("canonical", "llvm");
        var command = new Command("disasm", "List a program: pc, bytes and assembly text of every slot (no verification)");
        command.Arguments.Add(file);
        command.Options.Add(syntax);
        context.SetAction(command, parse =>
        {
            var programs = ProgramFile.ReadCode(parse.GetValue(file)!);
            for (int i = 0; i < programs.Count; i++)
            {
                var (name, code, info) = programs[i];
                if (name is not null)
                {
                    if (i > 0)
                    {
                        context.Out.WriteLine();
                    }

                    context.Out.WriteLine($"{name}:");
                }

                context.Out.Write(parse.GetValue(syntax) == "llvm" ? LlvmSyntax.Dump(code, info) : Disassembler.Dump(code));
            }

            return 0;
        });
        return command;
    }
}
