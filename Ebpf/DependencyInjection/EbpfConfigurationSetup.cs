using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ebpf.DependencyInjection;

/// <summary>Binds <see cref="EbpfOptions"/> from the <c>Ebpf</c> section when the container has an <see cref="IConfiguration"/>.</summary>
internal sealed class EbpfConfigurationSetup(IServiceProvider provider) : IConfigureOptions<EbpfOptions>
{
    public void Configure(EbpfOptions options)
    {
        var configuration = provider.GetService<IConfiguration>();
        configuration?.GetSection(EbpfOptions.SectionName).Bind(options);
    }
}
