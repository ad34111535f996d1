using Ebpf.Cli;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Cli;

/// <summary>Runs the <c>ebpf</c> tool in-process and captures what it prints.</summary>
public static class Tool
{
    /// <summary>The outcome of one invocation.</summary>
    public sealed record Result(int ExitCode, string Out, string Err)
    {
        /// <summary>The output lines (without the trailing empty one).</summary>
        public string[] OutLines => Out.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
    }

    /// <summary>Runs the tool with the engines of this build.</summary>
    public static Result Run(params string[] args) => Run(null, args);

    /// <summary>Runs the tool with the given engines.</summary>
    public static Result Run(IEngineSelector? engines, params string[] args) => Run(engines, [], args);

    /// <summary>Runs the tool with <paramref name="standardInput"/> as its standard input.</summary>
    public static Result RunWithInput(byte[] standardInput, params string[] args) => Run(null, standardInput, args);

    private static Result Run(IEngineSelector? engines, byte[] standardInput, string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = EbpfTool.Run(args, output, error, engines, standardInput: () => new MemoryStream(standardInput));
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>Runs the tool with <paramref name="input"/> (UTF-8) as its standard input.</summary>
    public static Result RunWithInput(string input, params string[] args) => RunWithInput(System.Text.Encoding.UTF8.GetBytes(input), args);

    /// <summary>A file of the repository's examples folder.</summary>
    public static string Example(string name) => Path.Combine(ConformanceSuite.RepositoryRoot, "examples", name);

    /// <summary>
    /// An Ethernet + IPv4 + TCP packet to port <paramref name="port"/>, written by hand: 14-byte Ethernet header
    /// (type 0x0800), 20-byte IPv4 header (IHL 5, protocol 6), 20-byte TCP header (source port 40000).
    /// </summary>
    public static byte[] TcpPacket(ushort port, byte protocol = 6)
    {
        var packet = new byte[54];
        packet[12] = 0x08;
        packet[13] = 0x00;
        packet[14] = 0x45;
        packet[23] = protocol;
        packet[34] = 0x9c;
        packet[35] = 0x40;
        packet[36] = (byte)(port >> 8);
        packet[37] = (byte)port;
        return packet;
    }

    /// <summary>A temporary folder, deleted on dispose.</summary>
    public sealed class TempFolder : IDisposable
    {
        public TempFolder()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ebpf-cli-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        /// <summary>Writes a file in the folder and returns its path.</summary>
        public string Write(string name, string text)
        {
            string path = System.IO.Path.Combine(Path, name);
            File.WriteAllText(path, text);
            return path;
        }

        /// <summary>Writes a binary file in the folder and returns its path.</summary>
        public string Write(string name, byte[] bytes)
        {
            string path = System.IO.Path.Combine(Path, name);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
