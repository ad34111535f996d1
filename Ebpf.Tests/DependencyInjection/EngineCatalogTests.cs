using Ebpf.DependencyInjection;
using Ebpf.Engines;
using Ebpf.Il;
using Ebpf.Interpreter;
using Ebpf.X64;
using Microsoft.Extensions.DependencyInjection;

namespace Ebpf.Tests.DependencyInjection;

public class EngineCatalogTests
{
    [Fact]
    public void The_catalogue_holds_each_engine_once_safest_first()
    {
        var engines = EngineCatalog.CreateAll();
        Assert.Collection(
            engines,
            e => Assert.IsType<InterpreterEngine>(e),
            e => Assert.IsType<IlEngine>(e),
            e => Assert.IsType<X64Engine>(e));
        Assert.NotSame(engines[0], EngineCatalog.CreateAll()[0]);
    }

    [Fact]
    public void AddAllEngines_registers_the_catalogue_under_the_engines_names()
    {
        var services = new ServiceCollection();
        var builder = services.AddEbpf().AddAllEngines().AddAllEngines();
        Assert.Equal(["interpreter", "il", "x64"], builder.EngineNames);
        using var provider = services.BuildServiceProvider();
        Assert.IsType<InterpreterEngine>(provider.GetRequiredKeyedService<IExecutionEngine>("interpreter"));
        Assert.IsType<IlEngine>(provider.GetRequiredKeyedService<IExecutionEngine>("il"));
        Assert.IsType<X64Engine>(provider.GetRequiredKeyedService<IExecutionEngine>("x64"));
        Assert.IsType<InterpreterEngine>(provider.GetRequiredService<IExecutionEngine>());
    }

    [Fact]
    public void The_tool_and_the_tests_offer_the_same_engines()
    {
        var tool = Ebpf.Cli.ToolEngines.Create();
        Assert.Equal(EngineCatalog.CreateAll().Select(e => e.Name), tool.Engines.Select(e => e.Name));
        Assert.Equal(Infrastructure.TestEngines.All.Select(e => e.Name), tool.Engines.Where(e => e.IsAvailable).Select(e => e.Name));
    }
}
