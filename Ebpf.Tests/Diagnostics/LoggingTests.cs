using Ebpf.DependencyInjection;
using Ebpf.Elf;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Tests.Cli;
using Ebpf.Tests.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Diagnostics;

/// <summary>ILogger through dependency injection: compilation, engine fallback, bpf_trace_printk.</summary>
public class LoggingTests
{
    private static ServiceProvider Build(CapturingLoggerProvider logs, Action<IEbpfBuilder>? engines = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var builder = services.AddEbpf(o => o.DefaultEngine = "fastest");
        engines?.Invoke(builder);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Compilations_are_logged_in_the_category_of_the_engine()
    {
        var logs = new CapturingLoggerProvider();
        using var provider = Build(logs);
        var engine = provider.GetRequiredKeyedService<IExecutionEngine>("interpreter");
        using var compiled = engine.Compile(Ebpf.Verification.ProgramLoader.Load(Program(I(OpCodes.Mov64Imm, 0, imm: 1), I(OpCodes.Exit)).Instructions.AsSpan(), "one"));
        var entry = Assert.Single(logs.Entries, e => e.Category == "Ebpf.Interpreter");
        Assert.Equal(LogLevel.Debug, entry.Level);
        Assert.Matches(@"^Compiled one \(2 slots\) on interpreter in [0-9.]+ ms$", entry.Message);
    }

    [Fact]
    public void A_policy_that_skips_an_engine_that_cannot_run_here_logs_a_warning()
    {
        var logs = new CapturingLoggerProvider();
        using var provider = Build(logs, b => b.AddEngine("x64", _ => new FakeEngine("x64", EngineCapabilities.NativeCode, "not an x86-64 machine")));
        Assert.Equal("interpreter", provider.GetRequiredService<IExecutionEngine>().Name);
        var entry = Assert.Single(logs.Entries, e => e.Category == "Ebpf.EngineSelector");
        Assert.Equal(
            (LogLevel.Warning, "Engine x64 cannot run here (not an x86-64 machine); the fastest policy falls back to interpreter"),
            (entry.Level, entry.Message));
    }

    [Fact]
    public void Trace_printk_goes_to_its_logger_category_with_the_helper_options_from_the_container()
    {
        var logs = new CapturingLoggerProvider();
        using var provider = Build(logs);
        var helpers = provider.GetRequiredService<LinuxHelperOptions>();
        using var runtime = ElfLoader.Load(Tool.Example("block_port.o")).CreateRuntime(new ElfRuntimeOptions { Helpers = helpers });
        using var program = runtime.Compile(provider.GetRequiredService<IExecutionEngine>());
        Assert.Equal(1UL, program.Run(File.ReadAllBytes(Tool.Example("packets/tcp_9999.bin"))));
        var entry = Assert.Single(logs.Entries, e => e.Category == "Ebpf.TracePrintk");
        Assert.Equal(LogLevel.Information, entry.Level);
        Assert.Matches(@"^bpf_trace_printk from \S+ at pc \d+: dropping packet to port 9999$", entry.Message);
    }
}
