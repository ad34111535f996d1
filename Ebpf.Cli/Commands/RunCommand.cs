using System.CommandLine;
using Ebpf.Cli.Diagnostics;
using Ebpf.Cli.Loading;

namespace Ebpf.Cli.Commands;

/// <summary><c>ebpf run PROGRAM</c>: runs a program once and prints r0.</summary>
internal static class RunCommand
{
    public static Command Create(ToolContext context)
    {
        var program = new Argument<string>("PROGRAM")
        {
            Description = "The program: raw bytecode (.bin), assembly (.s, .asm), a bpf_conformance test (.data) or an ELF object (.o)",
        };
        var engine = new Option<string?>("--engine", "-e")
        {
            Description = "The engine: interpreter, il, x64, or a policy: auto (= fastest available), fastest, safest. Default: interpreter",
            HelpName = "NAME",
        };
        var section = SharedOptions.Section();
        var maps = new Option<bool>("--maps")
        {
            Description = "For an ELF object: print the entries of its maps after the run",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print the result as JSON: {\"engine\": NAME, \"r0\": N}",
        };
        engine.CompletionSources.Add(context.EngineChoices());
        var memory = new MemoryOptions();
        var options = new EngineOptions();
        var diagnostics = new RunDiagnostics();

        var command = new Command("run", "Run a program once and print r0 (a .data test runs on its own memory unless --mem or --mem-hex is given)");
        command.Arguments.Add(program);
        memory.AddTo(command);
        command.Options.Add(engine);
        options.AddTo(command);
        command.Options.Add(section);
        command.Options.Add(maps);
        command.Options.Add(json);
        diagnostics.AddTo(command);
        context.SetAction(command, parse =>
        {
            using var loaded = ProgramFile.Load(parse.GetValue(program)!, parse.GetValue(section), context.Out);
            var input = memory.Read(parse, loaded.Memory, context.StandardInput);
            var chosen = context.SelectEngine(parse.GetValue(engine));
            if (parse.GetValue(json) && parse.GetValue(maps))
            {
                throw new ToolException("--maps prints text; it cannot be combined with --json", usage: true);
            }

            if (parse.GetValue(json) && diagnostics.OutputOption(parse) is { } text)
            {
                throw new ToolException($"{text} prints to the output; it cannot be combined with --json", usage: true);
            }

            ulong r0 = diagnostics.Run(parse, context, loaded, chosen, options.Read(parse), input);
            if (parse.GetValue(json))
            {
                context.Out.WriteLine(JsonText.Object(w =>
                {
                    w.WriteString("engine", chosen.Name);
                    w.WriteNumber("r0", r0);
                }));
                return 0;
            }

            context.Out.WriteLine($"r0 = {ResultText.Format(r0)}");
            if (parse.GetValue(maps) && loaded.Runtime is { } runtime)
            {
                MapText.Write(context.Out, runtime.Maps);
            }

            return 0;
        });
        return command;
    }
}
