using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.X64.Runtime;

namespace Ebpf.X64;

/// <summary>The direct entry of x64 programs (see <see cref="DirectEntry"/>).</summary>
public sealed unsafe partial class X64CompiledProgram
{
    /// <inheritdoc />
    /// <remarks>
    /// The program's own code, entered as a brief run enters it (without the GC transition, and without a lease: the
    /// code of a brief program stays mapped until the program is collected, and this frame keeps it reachable until the
    /// code has returned), with a run block written from r1 and r2 alone: the input is [r1, r1 + r2), there is no
    /// metadata, no environment region and no run state, and the stack end is 0, which tells the code's slow check that
    /// the run has no stack frames (see <c>X64Compiler.EmitSlowCheck</c>). A qualifying program names no r10, calls
    /// nothing, never loops and cannot run out of its budget, so nothing else in the block is read.
    /// </remarks>
    [SkipLocalsInit]
    private protected override ulong ExecuteDirect(ulong r1, ulong r2)
    {
        Unsafe.SkipInit(out RunBlock block);
        block.Status = (int)RunStatus.Completed;
        block.State = null;
        block.Program = selfHandle;
        block.StackEnd = 0;
        block.ContextAddress = r1;
        block.ContextLength = r2;
        if ((blockWords & RegionWords) != 0)
        {
            FillRegions(ref block, r1, r2, 0, 0, null, 0);
        }

        if ((blockWords & LimitWords) != 0)
        {
            FillLimits(ref block, r2);
        }

        if (Uses(RunBlock.BudgetOffset))
        {
            block.Budget = StartBudget;
        }

        ulong r0 = ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)entry)(&block);
        GC.KeepAlive(this);
        if (block.Status != (int)RunStatus.Completed)
        {
            throw DirectFailure(ref block, r1, r2);
        }

        return r0;
    }

    /// <summary>The error a direct run's block reports: a memory violation (nothing else can fail in qualifying code).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Exception DirectFailure(ref RunBlock block, ulong r1, ulong r2)
    {
        if (block.Status != (int)RunStatus.MemoryViolation)
        {
            return new InvalidOperationException($"x64 code of a direct entry ended with status {block.Status}");
        }

        var (pc, size, access) = ViolationSite(ref block);
        return DirectViolation(pc, block.ErrorAddress, size, access, r1, r2);
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

    /// <summary>The access a block that reports <see cref="RunStatus.MemoryViolation"/> failed at: its pc, size and kind.</summary>
    private static (int Pc, ulong Size, MemoryAccessKind Access) ViolationSite(ref RunBlock block)
    {
        int info = block.ErrorInfo;
        return (info >> 4, 1UL << ((info >> 1) & 3), (info & 1) != 0 ? MemoryAccessKind.Write : MemoryAccessKind.Read);
    }
}
