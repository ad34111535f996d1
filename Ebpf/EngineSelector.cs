using System.Diagnostics.CodeAnalysis;
using Ebpf.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ebpf;

/// <summary>
/// Chooses among a fixed set of engines by name or by <see cref="EnginePolicy"/>. Works without a container
/// (<c>new EngineSelector([new InterpreterEngine(), new IlEngine()], "fastest")</c>); the dependency-injection
/// registration (<c>services.AddEbpf()</c>) provides one as <see cref="IEngineSelector"/>. Thread-safe.
/// </summary>
public sealed class EngineSelector : IEngineSelector
{
    /// <summary>The policy name for <see cref="EnginePolicy.Safest"/>.</summary>
    public const string SafestName = "safest";

    /// <summary>The policy name for <see cref="EnginePolicy.Fastest"/>.</summary>
    public const string FastestName = "fastest";

    /// <summary>Another name for <see cref="EnginePolicy.Fastest"/> (as in <c>ebpf run --engine auto</c>).</summary>
    public const string AutoName = "auto";

    private readonly IExecutionEngine[] engines;
    private readonly Lazy<IExecutionEngine> defaultEngine;
    private readonly ILogger? logger;

    /// <summary>Creates a selector over <paramref name="engines"/>.</summary>
    /// <param name="engines">The engines, in order of preference among equals; names must be distinct (case-insensitive).</param>
    /// <param name="defaultEngine">The default: an engine name or a policy name (<c>safest</c>, <c>fastest</c>, <c>auto</c>).</param>
    /// <param name="logger">Where a policy that skips an engine that cannot run here says so (a warning), or null.</param>
    /// <exception cref="ArgumentException">Two engines share a name, or <paramref name="defaultEngine"/> is empty.</exception>
    public EngineSelector(IEnumerable<IExecutionEngine> engines, string defaultEngine = SafestName, ILogger? logger = null)
    {
        this.logger = logger;
        ArgumentNullException.ThrowIfNull(engines);
        ArgumentException.ThrowIfNullOrWhiteSpace(defaultEngine);
        this.engines = engines.ToArray();
        var duplicate = this.engines.GroupBy(e => e.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"two engines are named '{duplicate.Key}'", nameof(engines));
        }

        DefaultName = defaultEngine;
        this.defaultEngine = new Lazy<IExecutionEngine>(() => Select(DefaultName));
    }

    /// <summary>The configured default (an engine name or a policy name).</summary>
    public string DefaultName { get; }

    /// <inheritdoc />
    public IReadOnlyList<IExecutionEngine> Engines => engines;

    /// <inheritdoc />
    public IExecutionEngine Default => defaultEngine.Value;

    /// <summary>Reads a policy name: <c>safest</c>, <c>fastest</c> or <c>auto</c> (= fastest), case-insensitive.</summary>
    public static bool TryParsePolicy(string? name, out EnginePolicy policy)
    {
        if (string.Equals(name, SafestName, StringComparison.OrdinalIgnoreCase))
        {
            policy = EnginePolicy.Safest;
            return true;
        }

        if (string.Equals(name, FastestName, StringComparison.OrdinalIgnoreCase) || string.Equals(name, AutoName, StringComparison.OrdinalIgnoreCase))
        {
            policy = EnginePolicy.Fastest;
            return true;
        }

        policy = default;
        return false;
    }

    /// <summary>
    /// The order in which <paramref name="policy"/> considers <paramref name="engines"/> (available or not): for
    /// <see cref="EnginePolicy.Fastest"/> native code, then IL, then interpreters, then anything else; for
    /// <see cref="EnginePolicy.Safest"/> interpreters, then IL, then native code, then anything else. Ties keep the
    /// given order.
    /// </summary>
    public static IEnumerable<IExecutionEngine> OrderByPolicy(IEnumerable<IExecutionEngine> engines, EnginePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(engines);
        return engines.OrderBy(e => Rank(e.Capabilities, policy));
    }

    /// <inheritdoc />
    public bool TryGet(string name, [NotNullWhen(true)] out IExecutionEngine? engine)
    {
        engine = engines.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase));
        return engine is not null;
    }

    /// <inheritdoc />
    public IExecutionEngine Select(string nameOrPolicy)
    {
        ArgumentNullException.ThrowIfNull(nameOrPolicy);
        if (TryGet(nameOrPolicy, out var engine))
        {
            return engine.IsAvailable
                ? engine
                : throw new EbpfEngineUnavailableException(engine.Name, engine.UnavailableReason ?? "unavailable");
        }

        if (TryParsePolicy(nameOrPolicy, out var policy))
        {
            return Select(policy);
        }

        throw new EbpfEngineUnavailableException(
            nameOrPolicy,
            $"no engine of that name is registered (known: {string.Join(", ", engines.Select(e => e.Name).Append(SafestName).Append(FastestName).Append(AutoName))})");
    }

    /// <inheritdoc />
    public IExecutionEngine Select(EnginePolicy policy)
    {
        var ordered = OrderByPolicy(engines, policy).ToList();
        var chosen = ordered.FirstOrDefault(e => e.IsAvailable);
        if (chosen is not null)
        {
            if (logger is not null)
            {
                foreach (var skipped in ordered.TakeWhile(e => e != chosen))
                {
                    EbpfLog.FellBack(logger, skipped.Name, skipped.UnavailableReason ?? "unavailable", policy == EnginePolicy.Safest ? SafestName : FastestName, chosen.Name);
                }
            }

            return chosen;
        }

        string why = ordered.Count == 0
            ? "no engine is registered"
            : "no registered engine is available here (" + string.Join("; ", ordered.Select(e => $"{e.Name}: {e.UnavailableReason ?? "unavailable"}")) + ")";
        throw new EbpfEngineUnavailableException(policy == EnginePolicy.Safest ? SafestName : FastestName, why);
    }

    private static int Rank(EngineCapabilities capabilities, EnginePolicy policy)
    {
        int kind = (capabilities & EngineCapabilities.NativeCode) != 0 ? 0
            : (capabilities & EngineCapabilities.CompilesToIl) != 0 ? 1
            : (capabilities & EngineCapabilities.Interpreted) != 0 ? 2
            : 3;
        return policy == EnginePolicy.Fastest || kind == 3 ? kind : 2 - kind;
    }
}
