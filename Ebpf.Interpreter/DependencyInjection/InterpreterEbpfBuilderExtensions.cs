using Ebpf.Interpreter;

namespace Ebpf.DependencyInjection;

/// <summary>Registers the interpreter engine on an <see cref="IEbpfBuilder"/>.</summary>
public static class InterpreterEbpfBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="InterpreterEngine"/> as the engine <c>interpreter</c> (idempotent: a second call, or another
    /// engine already registered under that name, leaves the registration as it is).
    /// </summary>
    public static IEbpfBuilder AddInterpreter(this IEbpfBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddEngine(InterpreterEngine.EngineName, provider => new InterpreterEngine { Logger = Diagnostics.EbpfTelemetry.LoggerFrom(provider, "Ebpf.Interpreter") });
    }
}
