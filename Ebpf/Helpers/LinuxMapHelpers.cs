using System.Diagnostics;
using System.Runtime.CompilerServices;
using Ebpf.Maps;

namespace Ebpf.Helpers;

/// <summary>
/// The Linux map helpers (<see cref="LinuxHelperIds"/>): lookup, update and delete on every map type, push/pop/peek
/// on queues and stacks, the ring buffer helpers and <c>bpf_spin_lock</c>/<c>bpf_spin_unlock</c>. Registered by
/// <see cref="LinuxHelpers.Register(HelperTable, LinuxHelperOptions?)"/>; the run's CPU
/// (<see cref="LinuxHelperOptions.ProcessorId"/>) picks the values of per-CPU maps.
/// </summary>
internal static class LinuxMapHelpers
{
    private const long EINVAL = -22;
    private const long ENOENT = -2;

    /// <summary>How long <c>bpf_spin_lock</c> waits for a lock before it fails the run (a lock never released).</summary>
    private static readonly TimeSpan SpinLockLimit = TimeSpan.FromSeconds(1);

    public static void Register(HelperTable table, int cpu)
    {
        var map = HelperArgumentKind.MapPointer;
        var scalar = HelperArgumentKind.Scalar;
        var checkedPointer = HelperArgumentKind.CheckedPointer;
        table.Set(new Helper(LinuxHelperIds.MapLookupElem, "bpf_map_lookup_elem", (ctx, m, key, _, _, _) => Lookup(ctx, m, key, cpu))
        {
            Signature = HelperSignature.Of(HelperReturnKind.MapValueOrNull, map, HelperArgumentKind.MapKey),
            InlineLookup = (environment, handle) => (MapRegistry.Find(environment)?.FromHandle(handle) as ArrayMap)?.InlineLookup(cpu),
            DirectLookup = (environment, handle) => (MapRegistry.Find(environment)?.FromHandle(handle) as HashMap)?.DirectLookup(cpu),
        });
        table.Set(new Helper(LinuxHelperIds.MapUpdateElem, "bpf_map_update_elem", (ctx, m, key, value, flags, _) => Update(ctx, m, key, value, flags, cpu)) { Signature = HelperSignature.Of(map, HelperArgumentKind.MapKey, HelperArgumentKind.MapValue, scalar) });
        table.Set(new Helper(LinuxHelperIds.MapDeleteElem, "bpf_map_delete_elem", Delete) { Signature = HelperSignature.Of(map, HelperArgumentKind.MapKey) });
        table.Set(new Helper(LinuxHelperIds.MapPushElem, "bpf_map_push_elem", Push) { Signature = HelperSignature.Of(map, HelperArgumentKind.MapValue, scalar) });
        table.Set(new Helper(LinuxHelperIds.MapPopElem, "bpf_map_pop_elem", (ctx, m, value, _, _, _) => Take(ctx, m, value, remove: true)) { Signature = HelperSignature.Of(map, checkedPointer) });
        table.Set(new Helper(LinuxHelperIds.MapPeekElem, "bpf_map_peek_elem", (ctx, m, value, _, _, _) => Take(ctx, m, value, remove: false)) { Signature = HelperSignature.Of(map, checkedPointer) });
        table.Set(new Helper(LinuxHelperIds.SpinLock, "bpf_spin_lock", SpinLock) { Signature = HelperSignature.Of(checkedPointer) });
        table.Set(new Helper(LinuxHelperIds.SpinUnlock, "bpf_spin_unlock", SpinUnlock) { Signature = HelperSignature.Of(checkedPointer) });
        table.Set(new Helper(LinuxHelperIds.RingbufOutput, "bpf_ringbuf_output", RingbufOutput) { Signature = HelperSignature.Of(map, HelperArgumentKind.ReadableMemory, HelperArgumentKind.MemorySize, scalar) });
        table.Set(new Helper(LinuxHelperIds.RingbufReserve, "bpf_ringbuf_reserve", RingbufReserve) { Signature = HelperSignature.Of(HelperReturnKind.RingBufferRecordOrNull, map, scalar, scalar) });
        var record = HelperArgumentKind.RingBufferRecord;
        table.Set(new Helper(LinuxHelperIds.RingbufSubmit, "bpf_ringbuf_submit", (ctx, data, _, _, _, _) => RingbufCommit(ctx, data, discard: false)) { Signature = HelperSignature.Of(record, scalar) });
        table.Set(new Helper(LinuxHelperIds.RingbufDiscard, "bpf_ringbuf_discard", (ctx, data, _, _, _, _) => RingbufCommit(ctx, data, discard: true)) { Signature = HelperSignature.Of(record, scalar) });
        table.Set(new Helper(LinuxHelperIds.RingbufQuery, "bpf_ringbuf_query", (ctx, m, flags, _, _, _) => Ring(ctx, m, "bpf_ringbuf_query").Query(flags)) { Signature = HelperSignature.Of(map, scalar) });
    }

    /// <summary>The map a program's handle designates in the calling program's environment.</summary>
    /// <exception cref="InvalidOperationException">The value is not a map handle of this environment.</exception>
    public static BpfMap MapOf(HelperContext ctx, ulong handle) =>
        MapRegistry.Find(ctx.Environment)?.FromHandle(handle)
        ?? throw new InvalidOperationException($"0x{handle:x} is not a map of this program's environment");

    private static ulong Status(MapStatus status) => unchecked((ulong)(long)status);

    private static ulong Lookup(HelperContext ctx, ulong handle, ulong key, int cpu)
    {
        var target = MapOf(ctx, handle);
        var keyBytes = ctx.GetMemory(key, (ulong)target.KeySize, MemoryAccessKind.Read);
        if (target is MapOfMaps outer)
        {
            // The program gets the inner map as a handle, registered (with its values' region) on first use.
            return outer.Get(keyBytes) is { } inner ? MapRegistry.HandleOf(MapRegistry.For(ctx.Environment).Add(inner)) : 0;
        }

        return target.LookupValueAddress(keyBytes, cpu);
    }

    private static ulong Update(HelperContext ctx, ulong handle, ulong key, ulong value, ulong flags, int cpu)
    {
        var target = MapOf(ctx, handle);
        if (target is ProgramArrayMap or MapOfMaps or QueueMap or RingBufferMap)
        {
            return unchecked((ulong)EINVAL);
        }

        var keyBytes = ctx.GetMemory(key, (ulong)target.KeySize, MemoryAccessKind.Read);
        var valueBytes = ctx.GetMemory(value, (ulong)target.ValueSize, MemoryAccessKind.Read);
        return Status(target.UpdateFromProgram(keyBytes, valueBytes, (MapUpdateFlags)flags, cpu));
    }

    private static ulong Delete(HelperContext ctx, ulong handle, ulong key, ulong a3, ulong a4, ulong a5)
    {
        var target = MapOf(ctx, handle);
        if (target is ProgramArrayMap or MapOfMaps or QueueMap or RingBufferMap)
        {
            return unchecked((ulong)EINVAL);
        }

        return Status(target.Delete(ctx.GetMemory(key, (ulong)target.KeySize, MemoryAccessKind.Read)));
    }

    private static QueueMap Queue(HelperContext ctx, ulong handle, string helper) =>
        MapOf(ctx, handle) as QueueMap ?? throw new InvalidOperationException($"{helper}: r1 = 0x{handle:x} is not a queue or stack map");

    private static ulong Push(HelperContext ctx, ulong handle, ulong value, ulong flags, ulong a4, ulong a5)
    {
        var queue = Queue(ctx, handle, "bpf_map_push_elem");
        return flags > (ulong)MapUpdateFlags.Exist
            ? unchecked((ulong)EINVAL)
            : Status(queue.Push(ctx.GetMemory(value, (ulong)queue.ValueSize, MemoryAccessKind.Read), (MapUpdateFlags)flags));
    }

    private static ulong Take(HelperContext ctx, ulong handle, ulong value, bool remove)
    {
        var queue = Queue(ctx, handle, remove ? "bpf_map_pop_elem" : "bpf_map_peek_elem");
        var destination = ctx.GetMemory(value, (ulong)queue.ValueSize, MemoryAccessKind.Write);
        return (remove ? queue.TryPop(destination) : queue.TryPeek(destination)) ? 0 : unchecked((ulong)ENOENT);
    }

    private static RingBufferMap Ring(HelperContext ctx, ulong handle, string helper) =>
        MapOf(ctx, handle) as RingBufferMap ?? throw new InvalidOperationException($"{helper}: r1 = 0x{handle:x} is not a ring buffer map");

    private static ulong RingbufOutput(HelperContext ctx, ulong handle, ulong data, ulong size, ulong flags, ulong a5)
    {
        var ring = Ring(ctx, handle, "bpf_ringbuf_output");
        if ((flags & ~3ul) != 0)
        {
            return unchecked((ulong)EINVAL);
        }

        return Status(ring.Output(ctx.GetMemory(data, size, MemoryAccessKind.Read)));
    }

    private static ulong RingbufReserve(HelperContext ctx, ulong handle, ulong size, ulong flags, ulong a4, ulong a5)
    {
        var ring = Ring(ctx, handle, "bpf_ringbuf_reserve");
        return flags != 0 ? 0 : ring.Reserve(size);
    }

    private static ulong RingbufCommit(HelperContext ctx, ulong data, bool discard)
    {
        foreach (var map in MapRegistry.Find(ctx.Environment)?.MapArray ?? [])
        {
            if (map is RingBufferMap ring && data - ring.ValueRegion.Address < ring.ValueRegion.Length && ring.Commit(data, discard))
            {
                return 0;
            }
        }

        throw new InvalidOperationException($"{(discard ? "bpf_ringbuf_discard" : "bpf_ringbuf_submit")}: 0x{data:x} is not a ring buffer record reserved by bpf_ringbuf_reserve and not yet submitted or discarded");
    }

    private static unsafe ulong SpinLock(HelperContext ctx, ulong address, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        ref int word = ref LockWord(ctx, address, "bpf_spin_lock");
        if (Interlocked.CompareExchange(ref word, 1, 0) == 0)
        {
            return 0;
        }

        var spin = default(SpinWait);
        long started = Stopwatch.GetTimestamp();
        while (Interlocked.CompareExchange(ref word, 1, 0) != 0)
        {
            if (Stopwatch.GetElapsedTime(started) > SpinLockLimit)
            {
                throw new InvalidOperationException($"bpf_spin_lock: the lock at 0x{address:x} stayed taken for {SpinLockLimit.TotalSeconds:0} s (a run never released it, or this run took it twice)");
            }

            spin.SpinOnce();
        }

        return 0;
    }

    private static ulong SpinUnlock(HelperContext ctx, ulong address, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        ref int word = ref LockWord(ctx, address, "bpf_spin_unlock");
        if (Interlocked.Exchange(ref word, 0) == 0)
        {
            throw new InvalidOperationException($"bpf_spin_unlock: the lock at 0x{address:x} is not taken");
        }

        return 0;
    }

    private static unsafe ref int LockWord(HelperContext ctx, ulong address, string helper)
    {
        if ((address & 3) != 0)
        {
            throw new InvalidOperationException($"{helper}: the lock at 0x{address:x} is not 4-byte aligned");
        }

        var bytes = ctx.GetMemory(address, 4, MemoryAccessKind.Write);
        return ref Unsafe.As<byte, int>(ref bytes[0]);
    }
}
