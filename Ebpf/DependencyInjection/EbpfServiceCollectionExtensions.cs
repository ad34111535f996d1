using Ebpf.Diagnostics;
using Ebpf.Helpers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Ebpf.DependencyInjection;

/// <summary>Registers the eBPF engines with a <see cref="IServiceCollection"/>.</summary>
public static class EbpfServiceCollectionExtensions
{
    /// <summary>
    /// Registers the eBPF services: the interpreter engine (always), <see cref="IEngineSelector"/>, the unkeyed
    /// <see cref="IExecutionEngine"/> (the configured default engine), <c>IEnumerable&lt;IExecutionEngine&gt;</c>
    /// (every registered engine, in registration order), <see cref="ExecutionOptions"/> (from the options), and
    /// <see cref="EbpfOptions"/> bound from the configuration section <c>Ebpf</c> (when an <c>IConfiguration</c> is
    /// registered), then from <paramref name="configure"/>, validated when the host starts, and
    /// <see cref="LinuxHelperOptions"/> whose <see cref="LinuxHelperOptions.TraceLogger"/> is the logger category
    /// <c>Ebpf.TracePrintk</c> (when the container has logging). Engines are also keyed
    /// services by their name. Calling it again adds only the new <paramref name="configure"/> step (idempotent).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets options in code (applied after configuration binding).</param>
    /// <returns>A builder to add more engines: <c>.AddIl()</c>, <c>.AddX64()</c>, or any engine with <see cref="IEbpfBuilder.AddEngine"/>.</returns>
    public static IEbpfBuilder AddEbpf(this IServiceCollection services, Action<EbpfOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var registry = services
            .FirstOrDefault(d => d.ServiceType == typeof(EngineRegistry) && !d.IsKeyedService)?
            .ImplementationInstance as EngineRegistry;
        if (registry is null)
        {
            registry = new EngineRegistry();
            services.AddSingleton(registry);
            services.AddOptions<EbpfOptions>().ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<EbpfOptions>, EbpfConfigurationSetup>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EbpfOptions>, EbpfOptionsValidator>());
            services.TryAddSingleton<IEngineSelector>(provider => new EngineSelector(
                provider.GetRequiredService<EngineRegistry>().Names.Select(n => provider.GetRequiredKeyedService<IExecutionEngine>(n)),
                provider.GetRequiredService<IOptions<EbpfOptions>>().Value.DefaultEngine,
                EbpfTelemetry.LoggerFrom(provider, EbpfLog.SelectionCategory)));
            services.TryAddSingleton(provider => new LinuxHelperOptions { TraceLogger = EbpfTelemetry.LoggerFrom(provider, EbpfLog.TracePrintkCategory) });
            services.TryAddSingleton<IExecutionEngine>(provider => provider.GetRequiredService<IEngineSelector>().Default);
            services.TryAddSingleton<IEnumerable<IExecutionEngine>>(provider => provider.GetRequiredService<IEngineSelector>().Engines);
            services.TryAddSingleton(provider => provider.GetRequiredService<IOptions<EbpfOptions>>().Value.ToExecutionOptions());
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        var builder = new EbpfBuilder(services, registry);
        builder.AddInterpreter();
        return builder;
    }
}
