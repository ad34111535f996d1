using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Ebpf.Execution;

/// <summary>
/// The reference memory check every engine applies (the interpreter on every access, the JIT engines on their slow
/// path): an access is allowed when it lies entirely inside the current and caller stack frames, the input memory,
/// the metadata buffer or one of the environment's regions (writes only to writable ones). Overflow-safe.
/// </summary>
internal static unsafe class MemoryGuard
{
    /// <summary>True when <c>[address, address + size)</c> may be accessed.</summary>
    /// <param name="state">The run state.</param>
    /// <param name="address">The first byte of the access.</param>
    /// <param name="size">The number of bytes (1 to 8 for instructions; any for helpers).</param>
    /// <param name="access">Read or write.</param>
    /// <param name="stackLow">The lowest byte of the current frame (r10 of the current function minus the frame size).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsAllowed(ref RunState state, ulong address, ulong size, MemoryAccessKind access, ulong stackLow)
    {
        if (Within(address, size, stackLow, state.StackEnd - stackLow)
            || Within(address, size, state.InputAddress, state.InputLength)
            || Within(address, size, state.MetadataAddress, state.MetadataLength))
        {
            return true;
        }

        return IsInRegions(ref state, address, size, access);
    }

    /// <summary>True when the access lies inside one of the environment's regions (writes: only writable ones).</summary>
    public static bool IsInRegions(ref RunState state, ulong address, ulong size, MemoryAccessKind access)
    {
        for (int i = 0; i < state.RegionCount; i++)
        {
            if (state.Regions[i].Allows(address, size, access))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The limit generated code compares <c>address - start</c> against (unsigned, strictly less) for an access of
    /// <paramref name="size"/> bytes in a range of <paramref name="length"/> bytes: 0 (nothing fits) when the range is
    /// shorter than the access. One comparison then covers the start, the end and the wrap-around of the access.
    /// </summary>
    public static ulong Limit(ulong length, int size) => length >= (ulong)size ? length - (ulong)size + 1 : 0;

    /// <summary>Overflow-safe containment of <c>[address, address + size)</c> in <c>[start, start + length)</c>; an empty region holds nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Within(ulong address, ulong size, ulong start, ulong length) =>
        address >= start && size <= length && address - start <= length - size && length != 0;

    /// <summary>A description of the regions a run may touch, for error messages.</summary>
    public static string DescribeRegions(ref RunState state, ulong stackLow)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"stack 0x{stackLow:x}..0x{state.StackEnd:x}");
        if (state.InputLength != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $", input 0x{state.InputAddress:x}..0x{state.InputAddress + state.InputLength:x}");
        }

        if (state.MetadataLength != 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $", metadata 0x{state.MetadataAddress:x}..0x{state.MetadataAddress + state.MetadataLength:x}");
        }

        for (int i = 0; i < state.RegionCount; i++)
        {
            sb.Append(", ").Append(state.Regions[i].ToString());
        }

        return sb.ToString();
    }

    /// <summary>Builds the violation error for an access at <paramref name="pc"/> of <paramref name="program"/>.</summary>
    public static EbpfMemoryAccessException Violation(
        EbpfProgram program, int pc, ref RunState state, ulong address, ulong size, MemoryAccessKind access, ulong stackLow) =>
        new(pc, program.Instructions[pc], address, size, access, DescribeRegions(ref state, stackLow));
}
