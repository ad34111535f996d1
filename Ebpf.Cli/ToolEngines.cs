using Ebpf.DependencyInjection;
using Ebpf.Engines;
using Ebpf.Interpreter;
using Microsoft.Extensions.DependencyInjection;

namespace Ebpf.Cli;

/// <summary>The engines the tool offers (every engine of <see cref="EngineCatalog"/>), registered the way a .NET host would register them.</summary>
internal static class ToolEngines
{
    /// <summary>A selector over every engine this build has; the default is the interpreter.</summary>
    public static IEngineSelector Create()
    {
        var services = new ServiceCollection();
        services.AddEbpf(options => options.DefaultEngine = InterpreterEngine.EngineName).AddAllEngines();
        return services.BuildServiceProvider().GetRequiredService<IEngineSelector>();
    }
}
