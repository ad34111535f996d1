using System.CommandLine;

namespace Ebpf.Cli.Commands;

/// <summary><c>ebpf engines</c>: lists the engines and whether each can run here.</summary>
internal static class EnginesCommand
{
    public static Command Create(ToolContext context)
    {
        var command = new Command("engines", "List the engines, whether each is available here, and why not");
        context.SetAction(command, _ =>
        {
            var engines = context.Engines.Engines;
            int width = engines.Count == 0 ? 0 : engines.Max(e => e.Name.Length);
            foreach (var engine in engines)
            {
                string status = engine.IsAvailable ? "available" : $"unavailable: {engine.UnavailableReason ?? "no reason given"}";
                context.Out.WriteLine($"{engine.Name.PadRight(width)}  {Describe(engine.Capabilities)}; {status}");
            }

            context.Out.WriteLine($"default: {Name(() => context.Engines.Default)}; fastest here: {Name(() => context.Engines.Select(EnginePolicy.Fastest))}");
            return 0;
        });
        return command;
    }

    /// <summary>What an engine is, in words.</summary>
    public static string Describe(EngineCapabilities capabilities)
    {
        var parts = new List<string>();
        if (capabilities.HasFlag(EngineCapabilities.Interpreted))
        {
            parts.Add("interpreter");
        }

        if (capabilities.HasFlag(EngineCapabilities.CompilesToIl))
        {
            parts.Add("compiles to .NET IL");
        }

        if (capabilities.HasFlag(EngineCapabilities.NativeCode))
        {
            parts.Add("native code");
        }

        if (capabilities.HasFlag(EngineCapabilities.RequiresDynamicCode))
        {
            parts.Add("needs dynamic code");
        }

        parts.Add(capabilities.HasFlag(EngineCapabilities.CanDisableMemoryChecks) ? "memory checks can be turned off" : "memory checks always on");
        return string.Join(", ", parts);
    }

    private static string Name(Func<IExecutionEngine> pick)
    {
        try
        {
            return pick().Name;
        }
        catch (EbpfEngineUnavailableException e)
        {
            return $"none ({e.Reason})";
        }
    }
}
