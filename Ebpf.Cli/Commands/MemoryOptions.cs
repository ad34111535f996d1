using System.CommandLine;
using Ebpf.Cli.Loading;

namespace Ebpf.Cli.Commands;

/// <summary>The options that give a program its memory: <c>--mem FILE</c> or <c>--mem-hex HEX</c>.</summary>
internal sealed class MemoryOptions
{
    /// <summary><c>--mem FILE</c>.</summary>
    public Option<string?> File { get; } = new("--mem")
    {
        Description = "A file whose bytes are the program's memory (r1 = its address, r2 = its length); - reads standard input",
        HelpName = "FILE",
    };

    /// <summary><c>--mem-hex HEX</c>.</summary>
    public Option<string?> Hex { get; } = new("--mem-hex")
    {
        Description = "The program's memory as hex bytes, e.g. \"00 01 ff\" or 0001ff",
        HelpName = "HEX",
    };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(File);
        command.Options.Add(Hex);
    }

    /// <summary>The memory the command line gives, else <paramref name="fallback"/>, else none.</summary>
    /// <exception cref="ToolException">Both options, a missing file, or bad hex.</exception>
    /// <param name="parse">The parsed command line.</param>
    /// <param name="fallback">The memory when the command line gives none.</param>
    /// <param name="standardInput">Opens standard input, for <c>--mem -</c>.</param>
    public byte[] Read(ParseResult parse, byte[]? fallback, Func<Stream> standardInput)
    {
        string? file = parse.GetValue(File);
        string? hex = parse.GetValue(Hex);
        if (file is not null && hex is not null)
        {
            throw new ToolException("give the memory with --mem or --mem-hex, not both", usage: true);
        }

        if (file == "-")
        {
            using var bytes = new MemoryStream();
            standardInput().CopyTo(bytes);
            return bytes.ToArray();
        }

        if (file is not null)
        {
            try
            {
                return ProgramFile.ReadBytes(file, "memory file");
            }
            catch (ToolException e)
            {
                throw new ToolException(e.Message, e.InnerException, usage: true);
            }
        }

        if (hex is not null)
        {
            return HexBytes.Parse(hex, "--mem-hex");
        }

        return fallback ?? [];
    }
}
