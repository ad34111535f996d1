using System.Runtime.InteropServices;
using System.Text;
using Ebpf.Diagnostics;
using Ebpf.Maps;
using Microsoft.Extensions.Logging;

namespace Ebpf.Helpers;

/// <summary>
/// Helpers with the ids and semantics of Linux (see <see cref="LinuxHelperIds"/>): map access (lookup, update, delete,
/// push/pop/peek, ring buffers, spin locks), time, tracing,
/// random numbers, checksums and tail calls. Maps are found through the <see cref="MapRegistry"/> of the calling
/// program's environment; pointer arguments are checked with <see cref="HelperContext.GetMemory"/>. Errors a Linux
/// program would see as return values (e.g. <c>-EEXIST</c>) are returned the same way; misuse Linux's verifier would
/// reject (a value that is not a map) ends the run with a helper error.
/// </summary>
public static class LinuxHelpers
{
    /// <summary>The most tail calls one run may make (Linux <c>MAX_TAIL_CALL_CNT</c>).</summary>
    public const int MaxTailCalls = 33;

    private const long EINVAL = -22;
    private const long EFAULT = -14;
    private const long ENOENT = -2;

    /// <summary>Registers every helper of this class in <paramref name="table"/>, replacing helpers with the same ids.</summary>
    /// <returns>The table, for chaining.</returns>
    public static HelperTable Register(HelperTable table, LinuxHelperOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        options ??= new LinuxHelperOptions();
        var trace = options.TraceOutput is { } writer ? TextWriter.Synchronized(writer) : null;
        var traceLogger = options.TraceLogger;
        var random = options.RandomSeed is { } seed ? new Random(seed) : null;
        var clock = options.Clock ?? RbpfHelpers.MonotonicNanoseconds;

        int cpu = (int)(options.ProcessorId ?? 0);
        LinuxMapHelpers.Register(table, cpu);
        LinuxCallbackHelpers.Register(table, cpu);
        table.Set(new Helper(LinuxHelperIds.KtimeGetNs, "bpf_ktime_get_ns", (_, _, _, _, _) => clock()) { Signature = HelperSignature.NoArguments });
        table.Set(new Helper(LinuxHelperIds.TracePrintk, "bpf_trace_printk", (ctx, fmt, size, a3, a4, a5) => TracePrintk(ctx, trace, traceLogger, fmt, size, a3, a4, a5)) { Signature = HelperSignature.Of(HelperArgumentKind.ReadableMemory, HelperArgumentKind.MemorySize) });
        table.Set(new Helper(LinuxHelperIds.GetPrandomU32, "bpf_get_prandom_u32", (_, _, _, _, _) => NextRandom(random)) { Signature = HelperSignature.NoArguments });
        table.Set(new Helper(LinuxHelperIds.GetSmpProcessorId, "bpf_get_smp_processor_id", (_, _, _, _, _) => (uint)cpu) { Signature = HelperSignature.NoArguments });
        table.Set(new Helper(LinuxHelperIds.L3CsumReplace, "bpf_l3_csum_replace", L3CsumReplace) { Signature = HelperSignature.Of(HelperArgumentKind.CheckedPointer, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar) });
        table.Set(new Helper(LinuxHelperIds.L4CsumReplace, "bpf_l4_csum_replace", L4CsumReplace) { Signature = HelperSignature.Of(HelperArgumentKind.CheckedPointer, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar, HelperArgumentKind.Scalar) });
        table.Set(new Helper(LinuxHelperIds.TailCall, "bpf_tail_call", TailCall)
        {
            Signature = HelperSignature.Of(HelperArgumentKind.Any, HelperArgumentKind.MapPointer, HelperArgumentKind.Scalar) with { EndsInTailCall = true },
            TailCallTargets = (environment, handle) => (MapRegistry.Find(environment)?.FromHandle(handle) as ProgramArrayMap)?.Targets,
        });
        table.Set(new Helper(LinuxHelperIds.CsumDiff, "bpf_csum_diff", CsumDiff) { Signature = HelperSignature.Of(HelperArgumentKind.ReadableMemory, HelperArgumentKind.MemorySize, HelperArgumentKind.ReadableMemory, HelperArgumentKind.MemorySize, HelperArgumentKind.Scalar) });
        return table;
    }

    /// <summary>Registers every helper of this class in the environment's helper table.</summary>
    /// <returns>The environment, for chaining.</returns>
    public static ProgramEnvironment Register(ProgramEnvironment environment, LinuxHelperOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        Register(environment.Helpers, options);
        return environment;
    }

    private static ulong TracePrintk(HelperContext ctx, TextWriter? output, ILogger? logger, ulong fmt, ulong size, ulong a3, ulong a4, ulong a5)
    {
        var format = ctx.GetMemory(fmt, size, MemoryAccessKind.Read);
        int end = format.IndexOf((byte)0);
        if (end < 0)
        {
            return unchecked((ulong)EINVAL);
        }

        // Two passes: the first finds the %s arguments, which are then read through the run's regions.
        var strings = new Dictionary<ulong, string>();
        ulong[] arguments = [a3, a4, a5];
        Func<ulong, string> lookup = address => strings.TryGetValue(address, out var known) ? known : strings[address] = string.Empty;
        string? text = TracePrintkFormatter.Format(format[..end], arguments, lookup);
        if (text is not null && strings.Count != 0)
        {
            foreach (ulong address in strings.Keys.ToArray())
            {
                strings[address] = Encoding.UTF8.GetString(ctx.ReadCString(address, 256));
            }

            text = TracePrintkFormatter.Format(format[..end], arguments, lookup);
        }

        if (text is null)
        {
            return unchecked((ulong)EINVAL);
        }

        output?.Write(text);
        if (logger is not null && logger.IsEnabled(LogLevel.Information))
        {
#pragma warning disable CA1873 // The arguments are computed only when the IsEnabled check above passed.
            EbpfLog.TracePrintk(logger, ctx.Program.Name ?? "program", ctx.Pc, text.TrimEnd('\n'));
#pragma warning restore CA1873
        }

        return (ulong)Encoding.UTF8.GetByteCount(text);
    }

    private static ulong L3CsumReplace(HelperContext ctx, ulong skb, ulong offset, ulong from, ulong to, ulong flags) =>
        L3CsumReplace(ctx, ctx.Input, offset, from, to, flags);

    /// <summary><c>bpf_l3_csum_replace</c> on the packet <paramref name="packet"/> (offsets count from its start).</summary>
    internal static ulong L3CsumReplace(HelperContext ctx, (ulong Address, ulong Length) packet, ulong offset, ulong from, ulong to, ulong flags)
    {
        if ((flags & ~0xful) != 0 || (flags & 0xf) is not (0 or 2 or 4))
        {
            return unchecked((ulong)EINVAL);
        }

        return ReplaceChecksum(ctx, packet, offset, from, to, (int)(flags & 0xf), sixteenBit: true, mangledZero: false);
    }

    private static ulong L4CsumReplace(HelperContext ctx, ulong skb, ulong offset, ulong from, ulong to, ulong flags) =>
        L4CsumReplace(ctx, ctx.Input, offset, from, to, flags);

    /// <summary><c>bpf_l4_csum_replace</c> on the packet <paramref name="packet"/> (offsets count from its start).</summary>
    internal static ulong L4CsumReplace(HelperContext ctx, (ulong Address, ulong Length) packet, ulong offset, ulong from, ulong to, ulong flags)
    {
        const ulong pseudoHeader = 0x10, mangledZero = 0x20, enforce = 0x40;
        if ((flags & ~(0xful | pseudoHeader | mangledZero | enforce)) != 0 || (flags & 0xf) is not (0 or 2 or 4))
        {
            return unchecked((ulong)EINVAL);
        }

        return ReplaceChecksum(ctx, packet, offset, from, to, (int)(flags & 0xf), sixteenBit: false, mangledZero: (flags & mangledZero) != 0);
    }

    private static ulong ReplaceChecksum(HelperContext ctx, (ulong Address, ulong Length) packet, ulong offset, ulong from, ulong to, int size, bool sixteenBit, bool mangledZero)
    {
        var (address, length) = packet;
        if (length < 2 || offset > length - 2)
        {
            return unchecked((ulong)EFAULT);
        }

        var field = ctx.GetMemory(address + offset, 2, MemoryAccessKind.Write);
        ushort check = MemoryMarshal.Read<ushort>(field);
        if (mangledZero && check == 0)
        {
            return 0;
        }

        check = InternetChecksum.Replace(check, (uint)from, (uint)to, size, sixteenBit);
        if (mangledZero && check == 0)
        {
            check = 0xffff;
        }

        MemoryMarshal.Write(field, in check);
        return 0;
    }

    /// <summary>
    /// <c>bpf_csum_diff</c> as Linux 6.18 computes it on x86-64 (see <see cref="InternetChecksum.Diff"/>; checked with
    /// BPF_PROG_TEST_RUN by <c>examples/kernel/tc_csum.c</c>): the sizes are 32-bit, need not be multiples of 4 and
    /// have no limit of their own (older kernels answered -EINVAL); the result is folded to 16 bits.
    /// </summary>
    private static ulong CsumDiff(HelperContext ctx, ulong from, ulong fromSize, ulong to, ulong toSize, ulong seed)
    {
        var fromBytes = ctx.GetMemory(from, (uint)fromSize, MemoryAccessKind.Read);
        var toBytes = ctx.GetMemory(to, (uint)toSize, MemoryAccessKind.Read);
        return InternetChecksum.Diff(fromBytes, toBytes, (uint)seed);
    }

    private static ulong TailCall(HelperContext ctx, ulong context, ulong map, ulong index, ulong a4, ulong a5)
    {
        if (LinuxMapHelpers.MapOf(ctx, map) is not ProgramArrayMap programs)
        {
            throw new InvalidOperationException($"bpf_tail_call: r2 = 0x{map:x} is not a program array");
        }

        if (ctx.InCallback)
        {
            // Linux 6.18's verifier refuses a program whose callback calls bpf_tail_call (KernelProgram refuses it at load).
            throw new InvalidOperationException("bpf_tail_call inside a callback (bpf_loop, bpf_for_each_map_elem): the kernel's verifier refuses such a program");
        }

        // An empty slot, a disposed program (see ProgramArrayMap) or the limit: the call falls through.
        var program = programs.Get((uint)index);
        if (program is null || ctx.TailCallCount >= MaxTailCalls)
        {
            return unchecked((ulong)ENOENT);
        }

        if (program.Environment != ctx.Environment)
        {
            throw new InvalidOperationException($"bpf_tail_call: the program at index {(uint)index} of '{programs.Name}' was compiled with another environment");
        }

        return ctx.TailCall(program) ? 0 : unchecked((ulong)ENOENT);
    }

    private static ulong NextRandom(Random? random)
    {
        if (random is null)
        {
            return (uint)Random.Shared.Next(int.MinValue, int.MaxValue);
        }

        lock (random)
        {
            return (uint)random.Next(int.MinValue, int.MaxValue);
        }
    }
}
