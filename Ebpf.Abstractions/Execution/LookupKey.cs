using Ebpf.Helpers;

namespace Ebpf.Execution;

/// <summary>
/// The key read of an inline array lookup (see <see cref="ArrayLookup"/>) and the direct call of a map's lookup (see
/// <see cref="DirectLookup"/>), with the helper's argument check.
/// </summary>
internal static unsafe class LookupKey
{
    /// <summary>
    /// The u32 key at <paramref name="address"/>, after checking (when <paramref name="check"/>, as
    /// <see cref="ExecutionOptions.HelperArgumentChecks"/> asks) that its 4 bytes are readable, as the lookup helper's
    /// <see cref="HelperContext.GetMemory"/> does.
    /// </summary>
    /// <exception cref="EbpfMemoryAccessException">The key lies outside the run's readable memory: the helper's error at <paramref name="pc"/>.</exception>
    public static uint Read(RunState* state, EbpfProgram program, int pc, ulong stackLow, bool check, ulong address)
    {
        Check(state, program, pc, stackLow, check, address, 4);
        return *(uint*)address;
    }

    /// <summary>
    /// What the lookup helper returns at <paramref name="pc"/> for the map of <paramref name="lookup"/> and the key at
    /// <paramref name="address"/>, called directly (see <see cref="DirectLookup"/>): the key's
    /// <see cref="DirectLookup.KeySize"/> bytes are checked as in <see cref="Read"/>. Like an inline lookup, it does not
    /// poll for cancellation as a helper call does: the lookup is short, and a loop of lookups is stopped at its backward
    /// jump, which every engine polls (x64 code that yields polls where its count runs out).
    /// </summary>
    /// <exception cref="EbpfMemoryAccessException">The key lies outside the run's readable memory: the helper's error at <paramref name="pc"/>.</exception>
    public static ulong Find(RunState* state, EbpfProgram program, int pc, ulong stackLow, bool check, ulong address, DirectLookup lookup)
    {
        int size = lookup.KeySize;
        Check(state, program, pc, stackLow, check, address, (ulong)size);
        return lookup.Find(new ReadOnlySpan<byte>((void*)address, size));
    }

    /// <summary>
    /// When <paramref name="check"/>, checks that the <paramref name="size"/> bytes of a lookup's key at
    /// <paramref name="address"/> are readable, as the lookup helper's <see cref="HelperContext.GetMemory"/> does.
    /// </summary>
    /// <exception cref="EbpfMemoryAccessException">The key lies outside the run's readable memory: the helper's error at <paramref name="pc"/>.</exception>
    public static void Check(RunState* state, EbpfProgram program, int pc, ulong stackLow, bool check, ulong address, ulong size)
    {
        if (check && !MemoryGuard.IsAllowed(ref *state, address, size, MemoryAccessKind.Read, stackLow))
        {
            throw MemoryGuard.Violation(program, pc, ref *state, address, size, MemoryAccessKind.Read, stackLow);
        }
    }
}
