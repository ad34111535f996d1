using Ebpf.X64;

namespace Ebpf.Tests.X64;

/// <summary>
/// The call of x64's native direct body (<c>CompiledProgram.CallNativeDirect</c>): a managed call of native code,
/// without the GC poll that an unmanaged call without the GC transition has after it. The runtime must still be able to
/// suspend threads that run direct bodies back to back (in the run method, between two bodies), so collections complete
/// while such runs go on, and every run keeps its result.
/// </summary>
[Collection(X64SerialCollection.Name)]
public class NativeDirectCallTests
{
    /// <summary>Two loads and an add: straight-line code, the brief direct body.</summary>
    private const string TwoLoads = "ldxdw r0, [r1]\nldxdw r2, [r1+8]\nadd r0, r2\nexit";

    [Theory]
    [InlineData(TwoLoads)]
    [InlineData(LoopDirectBodyTests.SumBytes)]
    public async Task Collections_complete_while_threads_run_direct_bodies_back_to_back(string source)
    {
        if (!X64Platform.Supported)
        {
            Assert.False(new X64Engine().IsAvailable);
            return;
        }

        using var compiled = DirectBodyTests.Compile("x64", source);
        Assert.True(compiled.HasDirectEntry);
        var input = new byte[16];
        input[0] = 40;
        input[8] = 2;
        const ulong expected = 40 + 2; // the two words, or the sum of the bytes
        var runs = new long[2];
        using var stop = new CancellationTokenSource();
        var runners = Enumerable.Range(0, runs.Length).Select(i => Task.Run(() =>
        {
            var own = (byte[])input.Clone();
            while (!stop.IsCancellationRequested)
            {
                Assert.Equal(expected, compiled.Run(own.AsSpan()));
                Interlocked.Increment(ref runs[i]);
            }
        })).ToArray();

        for (int collection = 0; collection < 5; collection++)
        {
            // Each collection lands while both threads are running bodies back to back: both have made runs since the
            // last one, and neither has ended (a runner ends only when stopped, or when a run failed).
            long[] seen = [.. runs.Select((_, i) => Interlocked.Read(ref runs[i]))];
            while (Enumerable.Range(0, runs.Length).Any(i => Interlocked.Read(ref runs[i]) < seen[i] + 1000) && !runners.Any(r => r.IsCompleted))
            {
                Thread.Yield();
            }

            Assert.DoesNotContain(runners, r => r.IsCompleted);
            int before = GC.CollectionCount(2);
            GC.Collect();
            Assert.True(GC.CollectionCount(2) > before);
        }

        Assert.DoesNotContain(runners, r => r.IsCompleted);
        await stop.CancelAsync();
        await Task.WhenAll(runners);
        Assert.All(runs, count => Assert.True(count >= 5000));
    }
}
