using System.Diagnostics;
using Ebpf.Diagnostics;

namespace Ebpf.Tests.Diagnostics;

/// <summary>
/// The warm-up that waits for tiered compilation (<see cref="TieringSettler"/>), driven by a count of compiled methods
/// the test controls, since the suite's other threads keep the real JIT busy.
/// </summary>
public sealed class TieringSettlerTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    [Fact]
    public void It_goes_on_while_methods_are_compiled_and_stops_once_none_has_been_for_the_quiet_time()
    {
        // The count moves on each of the first 20 steps (20 x 10 ms), then stays.
        int steps = 0;
        var clock = Stopwatch.StartNew();
        TimeSpan lastMove = TimeSpan.Zero;
        var elapsed = TieringSettler.Run(
            _ =>
            {
                Thread.Sleep(10);
                if (++steps <= 20)
                {
                    lastMove = clock.Elapsed;
                }
            },
            0,
            TimeSpan.Zero,
            Long,
            () => Math.Min(steps, 20),
            CancellationToken.None);

        Assert.True(steps > 20, $"stopped after {steps} steps, while the count still moved");
        // The test's clock started a moment before the settler's: allow that moment.
        Assert.True(elapsed - lastMove >= TieringSettler.QuietTime - TimeSpan.FromMilliseconds(5), $"stopped {elapsed - lastMove} after the last compilation");
        Assert.True(elapsed < Long);
    }

    [Fact]
    public void It_runs_at_least_the_minimum_even_when_nothing_is_compiled()
    {
        // Two seconds: a shorter minimum (400 ms) failed once in CI, where the whole suite's collections and threads can
        // hold this one up for most of a second between its first step and the settler's first look at the clock.
        int steps = 0;
        var minimum = TimeSpan.FromSeconds(2);
        var elapsed = TieringSettler.Run(_ => steps++, 0, minimum, Long, static () => 7, CancellationToken.None);
        Assert.True(elapsed >= minimum);
        Assert.True(elapsed >= TieringSettler.QuietTime);
        Assert.True(steps > 1);
    }

    [Fact]
    public void A_count_that_never_settles_ends_at_the_maximum()
    {
        // Two seconds, for the reason the minimum test gives: one stalled step must not use the whole time up.
        long count = 0;
        var maximum = TimeSpan.FromSeconds(2);
        var elapsed = TieringSettler.Run(_ => Thread.Sleep(1), 0, TimeSpan.Zero, maximum, () => ++count, CancellationToken.None);
        Assert.True(elapsed >= maximum);
        Assert.True(count > 2);
    }

    [Fact]
    public void A_cancelled_token_ends_it_after_one_step()
    {
        int steps = 0;
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        TieringSettler.Run(_ => steps++, 0, Long, Long, static () => 0, cancelled.Token);
        Assert.Equal(1, steps);
    }

    [Fact]
    public void The_default_overload_counts_the_runtimes_compilations_and_stops()
    {
        // With the real count: a step that compiles nothing new ends once the process' JIT has been quiet (or at the
        // default maximum when the suite keeps it busy), never before the minimum.
        int steps = 0;
        var minimum = TimeSpan.FromMilliseconds(50);
        var elapsed = TieringSettler.Run(_ => steps++, 0, minimum);
        Assert.InRange(elapsed, minimum, TieringSettler.MaximumTime + TimeSpan.FromSeconds(1));
        Assert.True(steps >= 1);
    }
}
