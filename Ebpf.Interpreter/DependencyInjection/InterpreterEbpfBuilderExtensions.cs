using Ebpf.Interpreter;

namespace Ebpf.DependencyInjection;

/// <summary>Registers the interpreter engine on an <see cref="IEbpfBuilder"/>.</summary>
public static class InterpreterEbpfBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="InterpreterEngine"/> as the engine <c>interpreter</c> (idempotent; <c>AddEbpf()</c> already
    /// registers it, so this call only states it).
    /// </summary>
    public static IEbpfBuilder AddInterpreter(this IEbpfBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddEngine(InterpreterEngine.EngineName, provider => new InterpreterEngine { Logger = Diagnostics.EbpfTelemetry.LoggerFrom(provider, "Ebpf.Interpreter") });
    }
}
