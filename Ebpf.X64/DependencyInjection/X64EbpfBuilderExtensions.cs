using Ebpf.X64;

namespace Ebpf.DependencyInjection;

/// <summary>Registers the native x86-64 engine on an <see cref="IEbpfBuilder"/>.</summary>
public static class X64EbpfBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="X64Engine"/> as the engine <c>x64</c> (idempotent). On a machine where it cannot run it
    /// reports itself unavailable, and the <c>fastest</c> policy falls back to the next engine.
    /// </summary>
    public static IEbpfBuilder AddX64(this IEbpfBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddEngine(X64Engine.EngineName, provider => new X64Engine { Logger = Diagnostics.EbpfTelemetry.LoggerFrom(provider, "Ebpf.X64") });
    }
}
