using System.Globalization;
using Ebpf.Conformance;

namespace Ebpf.Cli.Plugin;

/// <summary>What one plugin invocation asks for: the memory, the engine, the budget and the input format.</summary>
/// <param name="Memory">The memory given to the program (empty when none).</param>
/// <param name="Engine">The engine to run on.</param>
/// <param name="Budget">The instruction budget, or null for none.</param>
/// <param name="Elf">True when standard input holds an ELF object.</param>
/// <param name="Timeout">The longest the run may take, or null for no limit (default 10 seconds).</param>
public sealed record PluginRequest(byte[] Memory, IExecutionEngine Engine, long? Budget, bool Elf, TimeSpan? Timeout)
{
    /// <summary>The default limit of a run, as in <c>ebpf run</c>.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Reads the plugin's arguments: an optional memory argument first, then options.</summary>
    /// <exception cref="ArgumentException">An unknown option, a missing value or an unknown or unavailable engine.</exception>
    /// <exception cref="EbpfAssemblyException">The memory argument is not hex bytes.</exception>
    public static PluginRequest Parse(IReadOnlyList<string> args)
    {
        byte[] memory = [];
        string engineName = PluginEngines.DefaultName;
        long? budget = null;
        bool elf = false;
        TimeSpan? timeout = DefaultTimeout;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--elf":
                    elf = true;
                    break;
                case "--engine":
                    engineName = Value(args, ref i);
                    break;
                case "--budget":
                    string text = Value(args, ref i);
                    if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long b) || b <= 0)
                    {
                        throw new ArgumentException($"--budget needs a positive number of instructions, got '{text}'");
                    }

                    budget = b;
                    break;
                case "--timeout":
                    string seconds = Value(args, ref i);
                    if (!double.TryParse(seconds, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double s) || s > ExecutionOptions.MaxTimeout.TotalSeconds)
                    {
                        throw new ArgumentException($"--timeout needs a number of seconds (0 = no limit), got '{seconds}'");
                    }

                    timeout = s == 0 ? null : TimeSpan.FromSeconds(s);
                    break;
                default:
                    if (i != 0 || arg.StartsWith('-'))
                    {
                        throw new ArgumentException($"unknown plugin argument '{arg}' (expected [MEMORY-HEX] [--engine NAME] [--budget N] [--timeout SECONDS] [--elf])");
                    }

                    memory = ConformanceTest.ParseHexBytes(arg);
                    break;
            }
        }

        var engine = PluginEngines.Find(engineName)
            ?? throw new ArgumentException($"unknown engine '{engineName}' (known: {string.Join(", ", PluginEngines.All().Select(e => e.Name))})");
        if (!engine.IsAvailable)
        {
            throw new ArgumentException($"engine '{engine.Name}' is unavailable here: {engine.UnavailableReason}");
        }

        return new PluginRequest(memory, engine, budget, elf, timeout);
    }

    private static string Value(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count)
        {
            throw new ArgumentException($"{args[i]} needs a value");
        }

        return args[++i];
    }
}
