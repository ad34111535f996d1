using Ebpf.Assembly;
using Ebpf.DependencyInjection;
using Ebpf.Tests.Infrastructure;
using Ebpf.Verification;
using Microsoft.Extensions.DependencyInjection;

namespace Ebpf.Tests.DependencyInjection;

/// <summary>The README's dependency-injection example, as written there, with the real engines.</summary>
public class ReadmeSnippetTests
{
    [Fact]
    public void The_readme_example_runs()
    {
        var services = new ServiceCollection();
        services.AddEbpf(options =>
            {
                options.DefaultEngine = "fastest"; // or "interpreter", "il", "x64", "safest"
                options.InstructionBudget = 1_000_000;
            })
            .AddInterpreter()
            .AddIl()
            .AddX64();

        using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IExecutionEngine>(); // the configured default
        var interpreter = provider.GetRequiredKeyedService<IExecutionEngine>("interpreter");
        var safest = provider.GetRequiredService<IEngineSelector>().Select(EnginePolicy.Safest);
        var options = provider.GetRequiredService<ExecutionOptions>();

        var program = ProgramLoader.Load(Assembler.Assemble("mov r0, r2\nexit"));
        using var compiled = engine.Compile(program, options: options);
        ulong r0 = compiled.Run(new byte[] { 1, 2, 3 }); // r1 = the memory's address, r2 = its length

        Assert.Equal(3UL, r0);
        Assert.Same(interpreter, safest);
        Assert.Equal(1_000_000, options.InstructionBudget);
        string fastestHere = TestEngines.All.Any(e => e.Name == "x64") ? "x64" : TestEngines.All.Any(e => e.Name == "il") ? "il" : "interpreter";
        Assert.Equal(fastestHere, engine.Name);
        Assert.Equal(["interpreter", "il", "x64"], provider.GetServices<IExecutionEngine>().Select(e => e.Name));
    }
}
