using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Ebpf.Kernel;

/// <summary>
/// The time a test run takes, counted as the kernel's test run counts it: the CPU time of the running thread (on
/// Linux, <c>CLOCK_THREAD_CPUTIME_ID</c>), so time the thread spends waiting for a CPU on a loaded machine does not
/// count, as the kernel leaves out the time it yields. Elsewhere (or if the clock fails) the elapsed time.
/// </summary>
internal static partial class ThreadClock
{
    private const int ThreadCpuTime = 3;

    /// <summary>A reading in nanoseconds (differences are meaningful, on the same thread).</summary>
    public static long Now()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(ThreadCpuTime, out var time) == 0)
        {
            return (time.Seconds * 1_000_000_000) + time.Nanoseconds;
        }

        return (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
