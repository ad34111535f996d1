using Ebpf.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;

namespace Ebpf.Cli;

/// <summary>The engines the tool offers, registered the way a .NET host would register them.</summary>
internal static class ToolEngines
{
    /// <summary>A selector over every engine this build has; the default is the interpreter.</summary>
    public static IEngineSelector Create()
    {
        var services = new ServiceCollection();
        services.AddEbpf().AddInterpreter().AddIl().AddX64();
        return services.BuildServiceProvider().GetRequiredService<IEngineSelector>();
    }
}
