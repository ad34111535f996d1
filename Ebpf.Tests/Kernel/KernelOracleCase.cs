using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// One case of <c>kernel-results.txt</c>: a program of examples/kernel, a frame of examples/kernel/packets, the map
/// entries, skb mark, context in (<c>--ctx-out</c>), CPU and repeat count given, and what the Linux kernel's
/// BPF_PROG_TEST_RUN answered (recorded with the kernel oracle on 2026-12-02 and 2026-12-03): the result line without
/// duration_ns (or an error), the <c>ctx_out</c> it printed and the map lines.
/// </summary>
public sealed record KernelOracleCase(string ObjectName, string Program, string Packet, IReadOnlyList<(string Map, string Key, string Value)> Sets, uint? SkbMark, string Result, string? ContextOut, IReadOnlyList<string> Maps)
{
    /// <summary>Whether the oracle passed a context in (<c>--ctx-out</c>, <c>--ctx-in</c> or, for socket buffers, <c>--skb-mark</c>).</summary>
    public bool ContextIn { get; private init; }

    /// <summary>The raw context the oracle passed in with <c>--ctx-in HEX</c> (a <c>struct xdp_md</c> or <c>struct __sk_buff</c>), null when none.</summary>
    public byte[]? ContextBytes { get; private init; }

    /// <summary>The run's options as the oracle ran it: the context in (XDP or socket buffer as the program's type takes it), skb mark and repeat count.</summary>
    public Ebpf.Kernel.TestRunOptions Options(Ebpf.Kernel.KernelProgramType type) => new()
    {
        SkbMark = SkbMark ?? 0,
        SkbContext = type != Ebpf.Kernel.KernelProgramType.Xdp && ContextIn,
        XdpContextIn = type == Ebpf.Kernel.KernelProgramType.Xdp ? ContextBytes : null,
        SkbContextIn = type == Ebpf.Kernel.KernelProgramType.Xdp ? null : ContextBytes,
        XdpContextOut = type == Ebpf.Kernel.KernelProgramType.Xdp && ContextIn,
        Repeat = Repeat,
    };

    /// <summary>The error name of the errno the kernel refused the run with (<c>EINVAL</c> for "errno 22"), null when it did not refuse.</summary>
    public string? RefusalErrno => !KernelRefused ? null : Result[(Result.LastIndexOf("(errno ", StringComparison.Ordinal) + 7)..^1] switch
    {
        "7" => "E2BIG",
        "12" => "ENOMEM",
        "19" => "ENODEV",
        "22" => "EINVAL",
        var other => "errno " + other,
    };

    /// <summary>The CPU the oracle pinned the test run to (<c>--cpu</c>, 0 by default).</summary>
    public uint Cpu { get; private init; }

    /// <summary>The oracle's repeat count (<c>-r</c>, 1 by default).</summary>
    public int Repeat { get; private init; } = 1;

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
            bool contextIn = false;
            byte[]? contextBytes = null;
            uint cpu = 0;
            int repeat = 1;
            for (int w = 3; w < words.Length; w++)
            {
                switch (words[w])
                {
                    case "--set-map":
                        sets.Add((words[w + 1], words[w + 2], words[w + 3]));
                        w += 3;
                        break;
                    case "--skb-mark":
                        mark = uint.Parse(words[++w], System.Globalization.CultureInfo.InvariantCulture);
                        contextIn = true;
                        break;
                    case "--ctx-out":
                        contextIn = true;
                        break;
                    case "--ctx-in":
                        contextBytes = Convert.FromHexString(words[++w]);
                        contextIn = true;
                        break;
                    case "--cpu":
                        cpu = uint.Parse(words[++w], System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    case "-r":
                        repeat = int.Parse(words[++w], System.Globalization.CultureInfo.InvariantCulture);
                        break;
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

            cases[id] = new KernelOracleCase(words[0], words[1], words[2], sets, mark, result, context, maps) { ContextIn = contextIn, ContextBytes = contextBytes, Cpu = cpu, Repeat = repeat };
        }

        return cases;
    }
}
