using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Execution;
using Ebpf.X64.Runtime;

namespace Ebpf.Tests.Execution;

/// <summary>
/// Pins the byte layouts generated code reads directly: <see cref="MemoryRegion"/> (both JITs, through
/// <see cref="MemoryRegionLayout"/>) and the x64 engine's <see cref="RunBlock"/>.
/// </summary>
public class LayoutTests
{
    [Fact]
    public void A_memory_region_is_address_length_kind_and_writable_in_24_bytes()
    {
        Assert.Equal(0, MemoryRegionLayout.AddressOffset);
        Assert.Equal(8, MemoryRegionLayout.LengthOffset);
        Assert.Equal(16, MemoryRegionLayout.KindOffset);
        Assert.Equal(20, MemoryRegionLayout.WritableOffset);
        Assert.Equal(24, MemoryRegionLayout.Size);
        Assert.Equal(24, Unsafe.SizeOf<MemoryRegion>());
        Assert.Equal(24, Marshal.SizeOf<MemoryRegion>());
    }

    [Fact]
    public void The_bytes_of_a_region_hold_its_fields_at_the_layout_offsets()
    {
        var regions = new[]
        {
            new MemoryRegion(0x1122334455667788, 0x99, MemoryRegionKind.MapValue, writable: false),
            new MemoryRegion(0x10, 0x2000, MemoryRegionKind.Allowed),
        };
        var bytes = MemoryMarshal.AsBytes(regions.AsSpan());
        Assert.Equal(48, bytes.Length);
        for (int i = 0; i < regions.Length; i++)
        {
            var entry = bytes.Slice(i * MemoryRegionLayout.Size, MemoryRegionLayout.Size);
            Assert.Equal(regions[i].Address, MemoryMarshal.Read<ulong>(entry[MemoryRegionLayout.AddressOffset..]));
            Assert.Equal(regions[i].Length, MemoryMarshal.Read<ulong>(entry[MemoryRegionLayout.LengthOffset..]));
            Assert.Equal((int)regions[i].Kind, MemoryMarshal.Read<int>(entry[MemoryRegionLayout.KindOffset..]));
            Assert.Equal(regions[i].Writable, MemoryMarshal.Read<int>(entry[MemoryRegionLayout.WritableOffset..]));
        }

        Assert.Equal(0, regions[0].Writable);
        Assert.Equal(1, regions[1].Writable);
    }

    [Fact]
    public unsafe void The_x64_run_block_fields_sit_at_their_offset_constants()
    {
        (string Field, int Offset)[] expected =
        [
            (nameof(RunBlock.State), RunBlock.StateOffset),
            (nameof(RunBlock.InputStart), RunBlock.InputStartOffset),
            // The generated code reads the limit for an access of 2^k bytes at InputLimitOffset + 8k.
            (nameof(RunBlock.InputLimit1), RunBlock.InputLimitOffset),
            (nameof(RunBlock.InputLimit2), RunBlock.InputLimitOffset + 8),
            (nameof(RunBlock.InputLimit4), RunBlock.InputLimitOffset + 16),
            (nameof(RunBlock.InputLimit8), RunBlock.InputLimitOffset + 24),
            (nameof(RunBlock.MetadataStart), RunBlock.MetadataStartOffset),
            (nameof(RunBlock.MetadataLength), RunBlock.MetadataLengthOffset),
            (nameof(RunBlock.InputLength), RunBlock.InputLengthOffset),
            (nameof(RunBlock.StackEnd), RunBlock.StackEndOffset),
            (nameof(RunBlock.CallLimit), RunBlock.CallLimitOffset),
            (nameof(RunBlock.Budget), RunBlock.BudgetOffset),
            (nameof(RunBlock.SavedRsp), RunBlock.SavedRspOffset),
            (nameof(RunBlock.Status), RunBlock.StatusOffset),
            (nameof(RunBlock.ErrorInfo), RunBlock.ErrorInfoOffset),
            (nameof(RunBlock.ErrorAddress), RunBlock.ErrorAddressOffset),
            (nameof(RunBlock.ErrorFrame), RunBlock.ErrorFrameOffset),
            (nameof(RunBlock.Program), RunBlock.ProgramOffset),
            // The generated code stores r1..r5 at ArgsOffset + 8 * (r - 1).
            (nameof(RunBlock.Arg1), RunBlock.ArgsOffset),
            (nameof(RunBlock.Arg2), RunBlock.ArgsOffset + 8),
            (nameof(RunBlock.Arg3), RunBlock.ArgsOffset + 16),
            (nameof(RunBlock.Arg4), RunBlock.ArgsOffset + 24),
            (nameof(RunBlock.Arg5), RunBlock.ArgsOffset + 32),
            (nameof(RunBlock.CallFrame), RunBlock.CallFrameOffset),
            (nameof(RunBlock.CallxId), RunBlock.CallxIdOffset),
            (nameof(RunBlock.Regions), RunBlock.RegionsOffset),
            (nameof(RunBlock.RegionCount), RunBlock.RegionCountOffset),
            (nameof(RunBlock.ContextAddress), RunBlock.ContextAddressOffset),
            (nameof(RunBlock.ContextLength), RunBlock.ContextLengthOffset),
            // The generated code saves r6..r9 at SavedRegistersOffset + 8 * (r - 6) when it leaves for a helper call.
            (nameof(RunBlock.SavedR6), RunBlock.SavedRegistersOffset),
            (nameof(RunBlock.SavedR7), RunBlock.SavedRegistersOffset + 8),
            (nameof(RunBlock.SavedR8), RunBlock.SavedRegistersOffset + 16),
            (nameof(RunBlock.SavedR9), RunBlock.SavedRegistersOffset + 24),
            (nameof(RunBlock.HeldR0), RunBlock.HeldR0Offset),
            (nameof(RunBlock.GuardRest), RunBlock.GuardRestOffset),
            (nameof(RunBlock.ExitSite), RunBlock.ExitSiteOffset),
            (nameof(RunBlock.CallCount), RunBlock.CallCountOffset),
            (nameof(RunBlock.FrameSave), RunBlock.FrameSaveOffset),
            (nameof(RunBlock.TailSite), RunBlock.TailSiteOffset),
            (nameof(RunBlock.FrameBoundary), RunBlock.FrameBoundaryOffset),
        ];
        foreach (var (field, offset) in expected)
        {
            Assert.True(offset == (int)Marshal.OffsetOf<RunBlock>(field), $"{field}: constant {offset}, field at {Marshal.OffsetOf<RunBlock>(field)}");
        }

        Assert.Equal(RunBlock.Size, sizeof(RunBlock));

        // No two fields overlap: each ends before the next begins (offsets in order, with the fields' sizes).
        var sorted = expected.OrderBy(e => e.Offset).ToArray();
        for (int i = 1; i < sorted.Length; i++)
        {
            int previousSize = sorted[i - 1].Field switch { nameof(RunBlock.Status) or nameof(RunBlock.ErrorInfo) or nameof(RunBlock.RegionCount)
                or nameof(RunBlock.ExitSite) or nameof(RunBlock.CallCount) or nameof(RunBlock.TailSite) => 4, _ => 8 };
            Assert.True(sorted[i - 1].Offset + previousSize <= sorted[i].Offset, $"{sorted[i - 1].Field} overlaps {sorted[i].Field}");
        }
    }
}
