using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// One case of <c>kernel-results.txt</c>: a program of examples/kernel, a frame of examples/kernel/packets, the map
/// entries and skb mark given, and what the Linux kernel's BPF_PROG_TEST_RUN answered (recorded with the kernel
/// oracle on 2026-12-02): the result line without duration_ns (or an error) and the map lines.
/// </summary>
public sealed record KernelOracleCase(string ObjectName, string Program, string Packet, IReadOnlyList<(string Map, string Key, string Value)> Sets, uint? SkbMark, string Result, string? ContextOut, IReadOnlyList<string> Maps)
{
    /// <summary>Where the examples are.</summary>
    public static string Directory => Path.Combine(ConformanceSuite.RepositoryRoot, "examples", "kernel");

    /// <summary>A new runtime of the example object <paramref name="name"/> (without <c>.o</c>).</summary>
    public static Ebpf.Elf.ElfRuntime Runtime(string name) => Ebpf.Elf.ElfLoader.Load(Path.Combine(Directory, name + ".o")).CreateRuntime();

    /// <summary>The crafted frame <paramref name="name"/> of examples/kernel/packets (without <c>.bin</c>).</summary>
    public static byte[] Frame(string name) => File.ReadAllBytes(Path.Combine(Directory, "packets", name + ".bin"));

    /// <summary>Every recorded case, by id (<c>OBJECT PROGRAM PACKET [options]</c>).</summary>
    public static IReadOnlyDictionary<string, KernelOracleCase> All { get; } = Parse(
        File.ReadAllLines(Path.Combine(ConformanceSuite.RepositoryRoot, "Ebpf.Tests", "Kernel", "kernel-results.txt")));

    /// <summary>True when the kernel refused the run.</summary>
    public bool KernelRefused => Result.StartsWith("error:", StringComparison.Ordinal);

    private static Dictionary<string, KernelOracleCase> Parse(string[] lines)
    {
        var cases = new Dictionary<string, KernelOracleCase>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("case ", StringComparison.Ordinal))
            {
                continue;
            }

            string id = lines[i][5..];
            var words = id.Split(' ');
            var sets = new List<(string, string, string)>();
            uint? mark = null;
            for (int w = 3; w < words.Length; w++)
            {
                if (words[w] == "--set-map")
                {
                    sets.Add((words[w + 1], words[w + 2], words[w + 3]));
                    w += 3;
                }
                else if (words[w] == "--skb-mark")
                {
                    mark = uint.Parse(words[++w], System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            string result = lines[++i];
            string? context = null;
            if (result.IndexOf(" ctx_out=", StringComparison.Ordinal) is int at and >= 0)
            {
                context = result[(at + 9)..];
                result = result[..at];
            }

            var maps = new List<string>();
            while (i + 1 < lines.Length && (lines[i + 1].StartsWith("map ", StringComparison.Ordinal) || lines[i + 1].StartsWith("ringbuf ", StringComparison.Ordinal)))
            {
                maps.Add(lines[++i]);
            }

            cases[id] = new KernelOracleCase(words[0], words[1], words[2], sets, mark, result, context, maps);
        }

        return cases;
    }
}
