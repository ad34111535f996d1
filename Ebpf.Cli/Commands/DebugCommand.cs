using System.CommandLine;
using Ebpf.Cli.Diagnostics;
using Ebpf.Cli.Loading;
using Ebpf.Diagnostics;

namespace Ebpf.Cli.Commands;

/// <summary><c>ebpf debug PROGRAM</c>: runs a program on the interpreter under a prompt (break, step, regs, mem, continue, quit).</summary>
internal static class DebugCommand
{
    public static Command Create(ToolContext context)
    {
        var program = new Argument<string>("PROGRAM") { Description = "The program: .bin, .s/.asm, .data or an ELF object" };
        var section = SharedOptions.Section();
        var memory = new MemoryOptions();
        var options = new EngineOptions(withTimeout: false);
        var command = new Command(
            "debug",
            "Run a program on the interpreter step by step: a prompt reads commands (from the terminal or piped on standard input); 'help' lists them");
        command.Arguments.Add(program);
        memory.AddTo(command);
        options.AddTo(command);
        command.Options.Add(section);
        context.SetAction(command, parse =>
        {
            using var loaded = ProgramFile.Load(parse.GetValue(program)!, parse.GetValue(section), context.Out);
            var input = memory.Read(parse, loaded.Memory, context.StandardInput);
            using var compiled = RunDiagnostics.CompileObservable(context, loaded, options.Read(parse));
            using var debugger = new EbpfDebugger(compiled);
            using var commands = new StreamReader(context.StandardInput());
            var prompt = new DebugPrompt(debugger, RunDiagnostics.DebugInfo(loaded), commands, context.Out, context.Err, showPrompt: context.Interactive && !Console.IsInputRedirected);
            return prompt.Run(input);
        });
        return command;
    }
}
