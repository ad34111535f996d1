using System.Diagnostics;
using System.Globalization;

namespace Ebpf.Helpers;

/// <summary>
/// The built-in helpers of rbpf (most of them from uBPF's test harness), ready to register. Pointer arguments are
/// reached through <see cref="HelperContext.GetMemory"/>, so a bad pointer ends the run with a memory-access error
/// instead of touching host memory. The ids follow rbpf: <c>bpf_ktime_getns</c> 5 and <c>bpf_trace_printk</c> 6 (the
/// Linux ids), and the ids rbpf's and uBPF's tests give the others (<c>gather_bytes</c> 0, <c>memfrob</c> 1,
/// <c>sqrti</c> 3, <c>strcmp</c> 4); <c>rand</c>, which has none there, gets 7.
/// </summary>
public static class RbpfHelpers
{
    /// <summary>The id of <c>gather_bytes</c>.</summary>
    public const uint GatherBytesId = 0;

    /// <summary>The id of <c>memfrob</c>.</summary>
    public const uint MemfrobId = 1;

    /// <summary>The id of <c>sqrti</c>.</summary>
    public const uint SqrtiId = 3;

    /// <summary>The id of <c>strcmp</c>.</summary>
    public const uint StrcmpId = 4;

    /// <summary>The id of <c>bpf_ktime_getns</c> (as in Linux).</summary>
    public const uint KtimeGetNsId = 5;

    /// <summary>The id of <c>bpf_trace_printk</c> (as in Linux).</summary>
    public const uint TracePrintkId = 6;

    /// <summary>The id of <c>rand</c>.</summary>
    public const uint RandId = 7;

    /// <summary>The signature of <c>gather_bytes</c>: five numbers.</summary>
    public static HelperSignature GatherBytesSignature { get; } = HelperSignature.Numbers(5);

    /// <summary>The signature of <c>memfrob</c>: the memory it rewrites and its size.</summary>
    public static HelperSignature MemfrobSignature { get; } = HelperSignature.Of(HelperArgumentKind.WritableMemory, HelperArgumentKind.MemorySize);

    /// <summary>The signature of <c>sqrti</c>: one number.</summary>
    public static HelperSignature SqrtiSignature { get; } = HelperSignature.Numbers(1);

    /// <summary>The signature of the string comparisons: two NUL-terminated strings (their extent is checked at run time).</summary>
    public static HelperSignature StrcmpSignature { get; } = HelperSignature.Of(HelperArgumentKind.String, HelperArgumentKind.String);

    /// <summary>Registers (replacing) all of rbpf's built-ins with their ids; <c>bpf_trace_printk</c> writes to <paramref name="traceOutput"/> (standard output when null).</summary>
    public static HelperTable Register(HelperTable table, TextWriter? traceOutput = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table
            .Set(GatherBytes())
            .Set(Memfrob())
            .Set(Sqrti())
            .Set(Strcmp())
            .Set(KtimeGetNs())
            .Set(TracePrintk(traceOutput))
            .Set(Rand());
    }

    /// <summary><c>bpf_ktime_getns</c>: a monotonic time in nanoseconds; the arguments are unused.</summary>
    public static Helper KtimeGetNs(uint id = KtimeGetNsId) => new(id, "bpf_ktime_getns", (_, _, _, _, _) => MonotonicNanoseconds()) { Signature = HelperSignature.NoArguments };

    /// <summary>
    /// <c>bpf_trace_printk</c> as rbpf has it: ignores its first two arguments, writes
    /// <c>bpf_trace_printf: 0x{r3:x}, 0x{r4:x}, 0x{r5:x}</c> and a newline to <paramref name="output"/> (standard
    /// output when null) and returns the number of characters written.
    /// </summary>
    public static Helper TracePrintk(TextWriter? output = null, uint id = TracePrintkId) =>
        new(id, "bpf_trace_printk", (_, _, a3, a4, a5) =>
        {
            string line = string.Create(CultureInfo.InvariantCulture, $"bpf_trace_printf: 0x{a3:x}, 0x{a4:x}, 0x{a5:x}\n");
            var writer = output ?? Console.Out;
            writer.Write(line);
            return (ulong)line.Length;
        }) { Signature = HelperSignature.NoArguments };

    /// <summary><c>gather_bytes</c>: <c>r1 &lt;&lt; 32 | r2 &lt;&lt; 24 | r3 &lt;&lt; 16 | r4 &lt;&lt; 8 | r5</c>.</summary>
    public static Helper GatherBytes(uint id = GatherBytesId) => new(id, "gather_bytes", GatherBytesFunction) { Signature = GatherBytesSignature };

    /// <summary><c>memfrob</c>: xors the <c>r2</c> bytes at <c>r1</c> with 42 (checked as a write); returns 0.</summary>
    public static Helper Memfrob(uint id = MemfrobId) => new(id, "memfrob", MemfrobFunction) { Signature = MemfrobSignature };

    /// <summary><c>sqrti</c>: the integer square root of <c>r1</c> (through a double, as rbpf).</summary>
    public static Helper Sqrti(uint id = SqrtiId) => new(id, "sqrti", SqrtiFunction) { Signature = SqrtiSignature };

    /// <summary>
    /// <c>strcmp</c> as rbpf has it: <see cref="ulong.MaxValue"/> when either pointer is 0, otherwise the absolute
    /// difference of the first differing bytes of the two NUL-terminated strings (0 when equal). Every byte is checked.
    /// </summary>
    public static Helper Strcmp(uint id = StrcmpId) => new(id, "strcmp", (HelperContext context, ulong a, ulong b, ulong _, ulong _, ulong _) =>
    {
        if (a == 0 || b == 0)
        {
            return ulong.MaxValue;
        }

        var (x, y) = FirstDifference(context, a, b);
        return (ulong)Math.Abs(x - y);
    }) { Signature = StrcmpSignature };

    /// <summary><c>rand</c>: a random 64-bit value; when <c>r1 &lt; r2</c>, reduced into <c>[r1, r2]</c>.</summary>
    public static Helper Rand(uint id = RandId) => new(id, "rand", (min, max, _, _, _) =>
    {
        ulong n = (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.Next() << 63);
        if (min < max)
        {
            ulong span = max - min + 1;
            n = span == 0 ? n : (n % span) + min;
        }

        return n;
    }) { Signature = HelperSignature.Numbers(2) };

    internal static ulong GatherBytesFunction(ulong a1, ulong a2, ulong a3, ulong a4, ulong a5) =>
        (a1 << 32) | (a2 << 24) | (a3 << 16) | (a4 << 8) | a5;

    internal static ulong MemfrobFunction(HelperContext context, ulong pointer, ulong length, ulong a3, ulong a4, ulong a5)
    {
        foreach (ref byte b in context.GetMemory(pointer, length, MemoryAccessKind.Write))
        {
            b ^= 42;
        }

        return 0;
    }

    internal static ulong SqrtiFunction(ulong a1, ulong a2, ulong a3, ulong a4, ulong a5) => (ulong)Math.Sqrt(a1);

    /// <summary>The first pair of bytes that differ (or the terminating pair) of two NUL-terminated strings, each byte checked.</summary>
    internal static (int A, int B) FirstDifference(HelperContext context, ulong a, ulong b)
    {
        for (ulong i = 0; ; i++)
        {
            byte x = context.GetMemory(a + i, 1, MemoryAccessKind.Read)[0];
            byte y = context.GetMemory(b + i, 1, MemoryAccessKind.Read)[0];
            if (x != y || x == 0)
            {
                return (x, y);
            }
        }
    }

    internal static ulong MonotonicNanoseconds()
    {
        long ticks = Stopwatch.GetTimestamp();
        return (ulong)((UInt128)(ulong)ticks * 1_000_000_000UL / (ulong)Stopwatch.Frequency);
    }
}
