using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ebpf.DependencyInjection;

/// <summary>The <see cref="IEbpfBuilder"/> over a service collection.</summary>
internal sealed class EbpfBuilder(IServiceCollection services, EngineRegistry registry) : IEbpfBuilder
{
    public IReadOnlyList<string> EngineNames => registry.Names;

    public IEbpfBuilder AddEngine(string name, Func<IServiceProvider, IExecutionEngine> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (EngineSelector.TryParsePolicy(name, out _))
        {
            throw new ArgumentException($"'{name}' is a policy name and cannot name an engine", nameof(name));
        }

        if (!registry.TryAdd(name))
        {
            return this;
        }

        services.TryAddKeyedSingleton<IExecutionEngine>(name, (provider, _) =>
        {
            var engine = factory(provider) ?? throw new InvalidOperationException($"the factory of engine '{name}' returned null");
            return string.Equals(engine.Name, name, StringComparison.OrdinalIgnoreCase)
                ? engine
                : throw new InvalidOperationException($"the engine registered as '{name}' calls itself '{engine.Name}'");
        });
        return this;
    }
}
