namespace Ebpf.DependencyInjection;

/// <summary>
/// Registers execution engines with a dependency-injection container (returned by <c>services.AddEbpf()</c> in the
/// Ebpf package). Each engine package adds an extension on this builder (<c>AddInterpreter()</c>, <c>AddIl()</c>,
/// <c>AddX64()</c>). The contract lives here so that engine packages need no container package.
/// </summary>
public interface IEbpfBuilder
{
    /// <summary>The names of the engines registered so far, in registration order.</summary>
    IReadOnlyList<string> EngineNames { get; }

    /// <summary>
    /// Registers an engine under <paramref name="name"/> as a singleton (a keyed service by that name and a member of
    /// the engine list). A name that is already registered keeps its first registration (idempotent).
    /// </summary>
    /// <param name="name">The engine's name, e.g. <c>interpreter</c>; it must match the engine's <see cref="IExecutionEngine.Name"/>.</param>
    /// <param name="factory">Creates the engine (called once).</param>
    /// <returns>This builder.</returns>
    IEbpfBuilder AddEngine(string name, Func<IServiceProvider, IExecutionEngine> factory);
}
