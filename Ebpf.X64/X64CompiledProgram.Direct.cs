using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.X64.Compiler;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>
/// The direct entry of x64 programs (see <see cref="DirectEntry"/>): the program's direct body (see
/// <c>X64Compiler.CompileWithDirect</c>), a native function of r1 and r2 that returns r0 and a fault word in two
/// registers, placed in the code's mapping after the code. Direct runs call it from <c>CompiledProgram.RunDirect</c>
/// as brief runs call the code: without the GC transition and without a lease (the mapping of a brief program stays
/// until the program is collected, and the run keeps the program reachable until the body has returned). Nothing is
/// written before the call and nothing read after it but the two registers: the body has no run block.
/// </summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <summary>The boundary the direct body starts on, after the code in the same mapping.</summary>
    private const int DirectAlignment = 64;

    /// <summary>The direct body's offset in the mapping.</summary>
    private readonly int directOffset;

    /// <summary>The direct body's code offset of each slot, for the listing (null without a direct body).</summary>
    private readonly int[]? directPcOffsets;

    /// <inheritdoc />
    /// <remarks>The direct body's fault word is the packed site of the failed access (see <see cref="RunBlock.ErrorInfo"/>) plus one.</remarks>
    private protected override EbpfMemoryAccessException NativeDirectFault(ulong fault, ulong address, ulong r1, ulong r2)
    {
        var (pc, size, access) = ViolationSite((int)(fault - 1));
        return DirectViolation(pc, address, size, access, r1, r2);
    }

    /// <summary>
    /// <paramref name="code"/> followed by the direct body <paramref name="body"/> (when there is one) on the next
    /// <see cref="DirectAlignment"/> boundary, the gap filled with <c>int3</c>; <paramref name="offset"/> is where the body starts.
    /// </summary>
    private static byte[] WithDirectBody(byte[] code, DirectCode? body, out int offset)
    {
        if (body is null)
        {
            offset = 0;
            return code;
        }

        offset = (code.Length + DirectAlignment - 1) / DirectAlignment * DirectAlignment;
        var both = new byte[offset + body.Code.Length];
        code.CopyTo(both, 0);
        both.AsSpan(code.Length, offset - code.Length).Fill(0xCC);
        body.Code.CopyTo(both, offset);
        return both;
    }

    /// <summary>Writes the run's regions into the block (the code addresses them: see <see cref="RegionWords"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FillRegions(
        ref RunBlock block, ulong input, ulong inputLength, ulong metadata, ulong metadataLength, MemoryRegion* regions, int regionCount)
    {
        block.InputStart = input;
        block.InputLength = inputLength;
        block.MetadataStart = metadata;
        block.MetadataLength = metadataLength;
        block.Regions = regions;
        block.RegionCount = regionCount;
    }

    /// <summary>The access a packed site describes (<see cref="RunBlock.ErrorInfo"/>, or a direct body's fault word minus one): its pc, size and kind.</summary>
    private static (int Pc, ulong Size, MemoryAccessKind Access) ViolationSite(int info) =>
        (info >> 4, 1UL << ((info >> 1) & 3), (info & 1) != 0 ? MemoryAccessKind.Write : MemoryAccessKind.Read);
}
