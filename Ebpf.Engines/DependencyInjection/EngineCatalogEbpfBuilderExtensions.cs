using Ebpf.Engines;

namespace Ebpf.DependencyInjection;

/// <summary>Registers every engine of <see cref="EngineCatalog"/> on an <see cref="IEbpfBuilder"/>.</summary>
public static class EngineCatalogEbpfBuilderExtensions
{
    /// <summary>
    /// Registers each engine of <see cref="EngineCatalog.CreateAll"/> under its name, in the catalogue's order
    /// (idempotent: a name already registered keeps its engine). Engines that cannot run here are registered too and
    /// report themselves unavailable; the <c>fastest</c> and <c>safest</c> policies skip them.
    /// </summary>
    public static IEbpfBuilder AddAllEngines(this IEbpfBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var engine in EngineCatalog.CreateAll())
        {
            builder.AddEngine(engine.Name, _ => engine);
        }

        return builder;
    }
}
