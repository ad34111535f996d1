namespace Ebpf.Tests.Infrastructure;

/// <summary>Cancels a run of an endless loop once the loop is surely running, and returns how the run ended.</summary>
internal static class StoreThenCancel
{
    /// <summary>
    /// Runs <paramref name="compiled"/> on an 8-byte input whose first byte the program's loop sets to 1, cancels the
    /// run's token once that store is seen (so the run is surely in the loop: cancelling on a timer could land before
    /// it), and returns the cancellation error; fails when the store is never seen or the run does not stop.
    /// </summary>
    public static async Task<EbpfRunCancelledException> Run(ICompiledProgram compiled)
    {
        using var source = new CancellationTokenSource();
        var input = new byte[8];
        var run = Task.Run(() => compiled.Run(input, source.Token));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (Volatile.Read(ref input[0]) == 0 && !run.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(1);
        }

        Assert.Equal(1, Volatile.Read(ref input[0]));
        await source.CancelAsync();
        var ended = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60), CancellationToken.None));
        Assert.True(ended == run, "the run did not stop");
        return await Assert.ThrowsAsync<EbpfRunCancelledException>(() => run);
    }
}
