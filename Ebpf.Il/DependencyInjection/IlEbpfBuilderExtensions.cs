using Ebpf.Il;

namespace Ebpf.DependencyInjection;

/// <summary>Registers the IL engine on an <see cref="IEbpfBuilder"/>.</summary>
public static class IlEbpfBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="IlEngine"/> as the engine <c>il</c> (idempotent). Where dynamic code is not supported
    /// (NativeAOT) it reports itself unavailable, and the <c>fastest</c> policy falls back to the next engine.
    /// </summary>
    public static IEbpfBuilder AddIl(this IEbpfBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddEngine(IlEngine.EngineName, provider => new IlEngine { Logger = Diagnostics.EbpfTelemetry.LoggerFrom(provider, "Ebpf.Il") });
    }
}
