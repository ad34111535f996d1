using Ebpf.Maps;

namespace Ebpf.Helpers;

/// <summary>
/// The Linux helpers that call a function of the program back (<see cref="HelperContext.CallFunction"/>):
/// <c>bpf_loop</c> and <c>bpf_for_each_map_elem</c>, with the kernel's arguments, limits, error codes and results. The
/// callback is the value of an <c>lddw</c> with the code-address source (<c>src=4</c>); it runs on the run's budget, in a
/// frame of its own, and a nonzero return value ends the iteration. Its context argument must be a stack pointer or NULL,
/// as the kernel's verifier demands.
/// </summary>
internal static class LinuxCallbackHelpers
{
    /// <summary>The most iterations <c>bpf_loop</c> accepts (Linux <c>BPF_MAX_LOOPS</c>, 8 Mi).</summary>
    public const uint MaxLoops = 1 << 23;

    private const long EINVAL = -22;
    private const long E2BIG = -7;

    public static void Register(HelperTable table, int cpu)
    {
        var scalar = HelperArgumentKind.Scalar;
        var function = HelperArgumentKind.Function;
        table.Set(new Helper(LinuxHelperIds.Loop, "bpf_loop", Loop)
        {
            Signature = HelperSignature.Of(scalar, function, HelperArgumentKind.StackOrNull, scalar) with
            {
                CallbackArguments = [CallbackArgumentKind.LoopIndex, CallbackArgumentKind.HelperArgument3],
            },
        });
        table.Set(new Helper(LinuxHelperIds.ForEachMapElem, "bpf_for_each_map_elem", (ctx, m, fn, data, flags, _) => ForEachMapElem(ctx, m, fn, data, flags, cpu))
        {
            Signature = HelperSignature.Of(HelperArgumentKind.MapPointer, function, HelperArgumentKind.StackOrNull, scalar) with
            {
                CallbackArguments = [CallbackArgumentKind.Map, CallbackArgumentKind.MapKey, CallbackArgumentKind.MapValue, CallbackArgumentKind.HelperArgument3],
            },
        });
    }

    /// <summary>
    /// The callback's context (r3) must be a stack pointer or NULL (<c>ARG_PTR_TO_STACK_OR_NULL</c>): the kernel's verifier
    /// refuses a program that passes its context, a packet or a map value (checked against Linux 6.18).
    /// </summary>
    /// <exception cref="InvalidOperationException">It is neither (the run ends with a helper error).</exception>
    private static void CheckCallbackContext(HelperContext ctx, ulong data, string helper)
    {
        if (data != 0 && !ctx.IsStackPointer(data))
        {
            throw new InvalidOperationException($"{helper}: r3 = 0x{data:x} (the callback's context) is neither a pointer into the stack nor NULL; the kernel's verifier refuses such a program (R3 expected=fp)");
        }
    }

    /// <summary>
    /// <c>long bpf_loop(u32 nr_loops, callback, void *ctx, u64 flags)</c>: calls <c>callback(index, ctx)</c> for index 0,
    /// 1, ... until it returns nonzero or <c>nr_loops</c> calls were made; returns the number of calls, or -EINVAL for
    /// nonzero flags, or -E2BIG as a 32-bit value (0xfffffff9, as the kernel's inlined bpf_loop sets it) when
    /// <c>nr_loops</c> exceeds <see cref="MaxLoops"/> (nothing called then).
    /// </summary>
    private static ulong Loop(HelperContext ctx, ulong loops, ulong callback, ulong data, ulong flags, ulong unused)
    {
        CheckCallbackContext(ctx, data, "bpf_loop");
        if (flags != 0)
        {
            return unchecked((ulong)EINVAL);
        }

        // With flags 0 the kernel's verifier inlines bpf_loop: the count is compared as 64 bits and -E2BIG is set with a
        // 32-bit move, so the program sees 0xfffffff9 (checked against Linux 6.18: examples/kernel/xdp_callbacks.c).
        if (loops > MaxLoops)
        {
            return unchecked((uint)E2BIG);
        }

        // The engine runs the loop (HelperContext.CallFunctionLoop): the callback's checks and the engine's entry state
        // are set up once per bpf_loop rather than once per call.
        return ctx.CallFunctionLoop(callback, (uint)loops, data);
    }

    /// <summary>
    /// <c>long bpf_for_each_map_elem(map, callback, void *ctx, u64 flags)</c>: calls <c>callback(map, key, value, ctx)</c>
    /// for each element (arrays in index order, hash maps in slot order: the kernel's bucket order cannot be reproduced)
    /// until it returns nonzero; returns the number of elements visited, or -EINVAL for nonzero flags. The key points at
    /// a read-only copy (<see cref="BpfMap.KeyRegion"/>), the value at the element's value (of the run's CPU for a
    /// per-CPU map). An element deleted during the iteration is not visited.
    /// </summary>
    /// <exception cref="InvalidOperationException">The map cannot be iterated (the kernel's verifier refuses such a call).</exception>
    private static ulong ForEachMapElem(HelperContext ctx, ulong handle, ulong callback, ulong data, ulong flags, int cpu)
    {
        var map = LinuxMapHelpers.MapOf(ctx, handle);
        CheckCallbackContext(ctx, data, "bpf_for_each_map_elem");
        var slots = map.IterationSlots()
            ?? throw new InvalidOperationException($"map '{map.Name}' ({map.Type}) cannot be iterated: bpf_for_each_map_elem supports array, per-CPU array, hash, per-CPU hash and LRU hash maps");
        if (flags != 0)
        {
            return unchecked((ulong)EINVAL);
        }

        ulong visited = 0;
        foreach (int slot in slots)
        {
            if (!map.IsLive(slot))
            {
                continue;
            }

            visited++;
            ulong result = ctx.CallFunction(callback, handle, map.IterationKey(slot), map.IterationValue(slot, cpu), data, 0);
            if (ctx.IsStopping)
            {
                return result;
            }

            if (result != 0)
            {
                break;
            }
        }

        return visited;
    }
}
