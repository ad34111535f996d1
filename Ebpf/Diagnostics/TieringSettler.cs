using System.Diagnostics;
using System.Runtime;

namespace Ebpf.Diagnostics;

/// <summary>
/// Runs a warm-up step again and again until .NET's tiered compilation has settled, so that what is timed afterwards
/// runs the code .NET finally keeps. Tiered compilation starts a method with quickly compiled code, counts its calls
/// only after about 100 ms without new compilations, and replaces it (after an instrumented middle stage for methods
/// with loops or calls worth profiling) on a background thread: a fixed warm-up time can end with a method of the run
/// path still in its first or middle form, and the timed runs then run slower code for part of the time or all of it.
/// The settler watches the process' count of compiled methods and stops when it has not changed for
/// <see cref="QuietTime"/> while the step kept running (or at <see cref="MaximumTime"/>, when something else in the
/// process keeps compiling). Without a JIT (NativeAOT) the count never moves and the minimum time is all it takes.
/// </summary>
internal static class TieringSettler
{
    /// <summary>How long the count of compiled methods must stay unchanged: longer than twice the runtime's call-counting delay (100 ms), so that a promotion still pending would have shown.</summary>
    public static readonly TimeSpan QuietTime = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest warm-up by default, however busy the JIT is (other threads of the process may compile all the time).</summary>
    public static readonly TimeSpan MaximumTime = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Calls <paramref name="step"/> (with <paramref name="state"/>) until at least <paramref name="minimum"/> has passed
    /// and no method has been compiled for <see cref="QuietTime"/>, or <paramref name="maximum"/> (default
    /// <see cref="MaximumTime"/>) has passed, or
    /// <paramref name="cancellationToken"/> is cancelled (the caller's own runs then report the cancellation); at least once.
    /// </summary>
    /// <returns>The time the warm-up took.</returns>
    public static TimeSpan Run<TState>(Action<TState> step, TState state, TimeSpan minimum, TimeSpan? maximum = null, CancellationToken cancellationToken = default) =>
        Run(step, state, minimum, maximum ?? MaximumTime, CompiledMethods, cancellationToken);

    /// <summary>As the other overload, with the count of compiled methods read from <paramref name="compiledMethods"/> (tests give their own).</summary>
    internal static TimeSpan Run<TState>(Action<TState> step, TState state, TimeSpan minimum, TimeSpan maximum, Func<long> compiledMethods, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(compiledMethods);
        long start = Stopwatch.GetTimestamp();
        long compiled = compiledMethods();
        long lastChange = start;
        while (true)
        {
            step(state);
            long now = Stopwatch.GetTimestamp();
            long count = compiledMethods();
            if (count != compiled)
            {
                compiled = count;
                lastChange = now;
            }

            var elapsed = Stopwatch.GetElapsedTime(start, now);
            if (elapsed >= maximum || cancellationToken.IsCancellationRequested
                || (elapsed >= minimum && Stopwatch.GetElapsedTime(lastChange, now) >= QuietTime))
            {
                return elapsed;
            }
        }
    }

    /// <summary>The methods the runtime has compiled so far on any thread (0 without a JIT).</summary>
    private static long CompiledMethods() => JitInfo.GetCompiledMethodCount(currentThread: false);
}
