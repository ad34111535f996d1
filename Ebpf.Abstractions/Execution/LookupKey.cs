using Ebpf.Helpers;

namespace Ebpf.Execution;

/// <summary>The key read of an inline array lookup (see <see cref="ArrayLookup"/>), with the helper's argument check.</summary>
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
        if (check && !MemoryGuard.IsAllowed(ref *state, address, 4, MemoryAccessKind.Read, stackLow))
        {
            throw MemoryGuard.Violation(program, pc, ref *state, address, 4, MemoryAccessKind.Read, stackLow);
        }

        return *(uint*)address;
    }
}
