using System.CommandLine;

namespace Ebpf.Cli.Commands;

/// <summary>Options several commands share.</summary>
internal static class SharedOptions
{
    /// <summary>A new <c>--section NAME</c> option (ELF objects: the program to take).</summary>
    public static Option<string?> Section() => new("--section")
    {
        Description = "For an ELF object: the program's section or function name (default: the first program)",
        HelpName = "NAME",
    };
}
