using System.Diagnostics.CodeAnalysis;

namespace Ebpf;

/// <summary>Chooses an execution engine by name or by <see cref="EnginePolicy"/> among the registered ones.</summary>
public interface IEngineSelector
{
    /// <summary>Every registered engine, in registration order (available here or not).</summary>
    IReadOnlyList<IExecutionEngine> Engines { get; }

    /// <summary>The configured default engine.</summary>
    /// <exception cref="EbpfEngineUnavailableException">The configured default is unknown or cannot run here.</exception>
    [SuppressMessage("Naming", "CA1716", Justification = "The natural name in C#; Visual Basic implementers write [Default].")]
    IExecutionEngine Default { get; }

    /// <summary>The engine registered under <paramref name="name"/> (case-insensitive), whether available here or not.</summary>
    bool TryGet(string name, [NotNullWhen(true)] out IExecutionEngine? engine);

    /// <summary>
    /// The engine named <paramref name="nameOrPolicy"/>, or, for the policy names <c>safest</c>, <c>fastest</c> and
    /// <c>auto</c> (= fastest), the engine that policy picks. Names are case-insensitive.
    /// </summary>
    /// <exception cref="EbpfEngineUnavailableException">No engine has that name, or the engine cannot run here.</exception>
    [SuppressMessage("Naming", "CA1716", Justification = "The natural name in C#; Visual Basic implementers write [Select].")]
    IExecutionEngine Select(string nameOrPolicy);

    /// <summary>The available engine <paramref name="policy"/> picks.</summary>
    /// <exception cref="EbpfEngineUnavailableException">No registered engine is available here.</exception>
    [SuppressMessage("Naming", "CA1716", Justification = "The natural name in C#; Visual Basic implementers write [Select].")]
    IExecutionEngine Select(EnginePolicy policy);
}
