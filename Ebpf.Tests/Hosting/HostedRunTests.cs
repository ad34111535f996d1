using Ebpf.DependencyInjection;
using Ebpf.Isa;
using Ebpf.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Hosting;

/// <summary>
/// A generic host whose background service runs an endless program with the host's stopping token: stopping the
/// host (what SIGTERM does through the console lifetime) stops the run.
/// </summary>
public class HostedRunTests
{
    /// <summary>Runs a program that never ends until the host stops; records how the run ended.</summary>
    private sealed class EndlessService(IExecutionEngine engine) : BackgroundService
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public EbpfRunCancelledException? Stopped { get; private set; }

        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(
            () =>
            {
                // mov r0, 0; loop: add r0, 1; ja loop
                using var compiled = engine.Compile(Program(I(OpCodes.Mov64Imm, 0), I(OpCodes.Add64Imm, 0, imm: 1), I(OpCodes.Ja, offset: -2), I(OpCodes.Exit)));
                Started.SetResult();
                try
                {
                    compiled.Run(Span<byte>.Empty, stoppingToken);
                }
                catch (EbpfRunCancelledException e)
                {
                    Stopped = e;
                }
            },
            CancellationToken.None);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public async Task Stopping_the_host_stops_a_run_given_its_stopping_token(string engine)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddEbpf(o => o.DefaultEngine = engine).AddInterpreter().AddEngine(engine, _ => TestEngines.Get(engine));
        builder.Services.AddSingleton<EndlessService>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<EndlessService>());
        using var host = builder.Build();
        var service = host.Services.GetRequiredService<EndlessService>();
        await host.StartAsync();
        await service.Started.Task.WaitAsync(TimeSpan.FromMinutes(1));

        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await host.StopAsync(patience.Token);

        Assert.False(patience.IsCancellationRequested, "the host waited for the run until its patience ran out");
        Assert.NotNull(service.Stopped);
        Assert.Equal(RuntimeErrorKind.Cancelled, service.Stopped!.Kind);
    }
}
