namespace Ebpf.Helpers;

/// <summary>The Linux ids (<c>enum bpf_func_id</c>) of the helpers <see cref="LinuxHelpers"/> provides.</summary>
public static class LinuxHelperIds
{
    /// <summary><c>bpf_map_lookup_elem(map, key)</c>.</summary>
    public const uint MapLookupElem = 1;

    /// <summary><c>bpf_map_update_elem(map, key, value, flags)</c>.</summary>
    public const uint MapUpdateElem = 2;

    /// <summary><c>bpf_map_delete_elem(map, key)</c>.</summary>
    public const uint MapDeleteElem = 3;

    /// <summary><c>bpf_ktime_get_ns()</c>.</summary>
    public const uint KtimeGetNs = 5;

    /// <summary><c>bpf_trace_printk(fmt, fmt_size, ...)</c>.</summary>
    public const uint TracePrintk = 6;

    /// <summary><c>bpf_get_prandom_u32()</c>.</summary>
    public const uint GetPrandomU32 = 7;

    /// <summary><c>bpf_get_smp_processor_id()</c>.</summary>
    public const uint GetSmpProcessorId = 8;

    /// <summary><c>bpf_l3_csum_replace(skb, offset, from, to, flags)</c>.</summary>
    public const uint L3CsumReplace = 10;

    /// <summary><c>bpf_l4_csum_replace(skb, offset, from, to, flags)</c>.</summary>
    public const uint L4CsumReplace = 11;

    /// <summary><c>bpf_tail_call(ctx, prog_array, index)</c>.</summary>
    public const uint TailCall = 12;

    /// <summary><c>bpf_csum_diff(from, from_size, to, to_size, seed)</c>.</summary>
    public const uint CsumDiff = 28;

    /// <summary><c>bpf_map_push_elem(map, value, flags)</c>.</summary>
    public const uint MapPushElem = 87;

    /// <summary><c>bpf_map_pop_elem(map, value)</c>.</summary>
    public const uint MapPopElem = 88;

    /// <summary><c>bpf_map_peek_elem(map, value)</c>.</summary>
    public const uint MapPeekElem = 89;

    /// <summary>
    /// <c>bpf_spin_lock(lock)</c>: a real lock on the 4-byte, 4-aligned <c>struct bpf_spin_lock</c> in a map value
    /// (0 free, 1 taken), shared by every run and thread. A run that waits more than one second for it (a run that never
    /// released it, or this run taking it twice, which Linux's verifier rejects) ends with a helper error.
    /// </summary>
    public const uint SpinLock = 93;

    /// <summary><c>bpf_spin_unlock(lock)</c>: releases the lock; releasing a lock that is not taken ends the run with a helper error.</summary>
    public const uint SpinUnlock = 94;

    /// <summary><c>bpf_ringbuf_output(ringbuf, data, size, flags)</c>.</summary>
    public const uint RingbufOutput = 130;

    /// <summary><c>bpf_ringbuf_reserve(ringbuf, size, flags)</c>.</summary>
    public const uint RingbufReserve = 131;

    /// <summary><c>bpf_ringbuf_submit(data, flags)</c>.</summary>
    public const uint RingbufSubmit = 132;

    /// <summary><c>bpf_ringbuf_discard(data, flags)</c>.</summary>
    public const uint RingbufDiscard = 133;

    /// <summary><c>bpf_ringbuf_query(ringbuf, flags)</c>.</summary>
    public const uint RingbufQuery = 134;

    /// <summary><c>bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags)</c>: calls the program's callback for each element.</summary>
    public const uint ForEachMapElem = 164;

    /// <summary><c>bpf_loop(nr_loops, callback_fn, callback_ctx, flags)</c>: calls the program's callback up to <c>nr_loops</c> times.</summary>
    public const uint Loop = 181;

    /// <summary>The helpers by their C names (e.g. <c>bpf_map_lookup_elem</c>), for resolving calls to external symbols.</summary>
    public static IReadOnlyDictionary<string, uint> ByName { get; } = new Dictionary<string, uint>
    {
        ["bpf_map_lookup_elem"] = MapLookupElem,
        ["bpf_map_update_elem"] = MapUpdateElem,
        ["bpf_map_delete_elem"] = MapDeleteElem,
        ["bpf_ktime_get_ns"] = KtimeGetNs,
        ["bpf_trace_printk"] = TracePrintk,
        ["bpf_get_prandom_u32"] = GetPrandomU32,
        ["bpf_get_smp_processor_id"] = GetSmpProcessorId,
        ["bpf_l3_csum_replace"] = L3CsumReplace,
        ["bpf_l4_csum_replace"] = L4CsumReplace,
        ["bpf_tail_call"] = TailCall,
        ["bpf_csum_diff"] = CsumDiff,
        ["bpf_map_push_elem"] = MapPushElem,
        ["bpf_map_pop_elem"] = MapPopElem,
        ["bpf_map_peek_elem"] = MapPeekElem,
        ["bpf_spin_lock"] = SpinLock,
        ["bpf_spin_unlock"] = SpinUnlock,
        ["bpf_ringbuf_output"] = RingbufOutput,
        ["bpf_ringbuf_reserve"] = RingbufReserve,
        ["bpf_ringbuf_submit"] = RingbufSubmit,
        ["bpf_ringbuf_discard"] = RingbufDiscard,
        ["bpf_ringbuf_query"] = RingbufQuery,
        ["bpf_for_each_map_elem"] = ForEachMapElem,
        ["bpf_loop"] = Loop,
    };
}
