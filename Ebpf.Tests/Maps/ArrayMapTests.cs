using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

public class ArrayMapTests
{
    [Fact]
    public void Every_entry_exists_and_starts_zeroed()
    {
        using var map = new ArrayMap("a", 8, 4);
        Assert.Equal(4, map.Count);
        for (uint i = 0; i < 4; i++)
        {
            Assert.True(map.TryLookup(i, out ulong value));
            Assert.Equal(0UL, value);
        }

        Assert.False(map.TryLookup(4u, out ulong _));
        Assert.Null(map.Lookup(BitConverter.GetBytes(4u)));
    }

    [Fact]
    public void Update_flags_follow_linux()
    {
        using var map = new ArrayMap("a", 8, 4);
        Assert.Equal(MapStatus.Success, map.Update(1u, 11UL));
        Assert.Equal(MapStatus.Success, map.Update(1u, 12UL, MapUpdateFlags.Exist));
        Assert.Equal(MapStatus.Exists, map.Update(1u, 13UL, MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.TooBig, map.Update(4u, 14UL));
        Assert.Equal(MapStatus.InvalidArgument, map.Update(new byte[4], new byte[8], (MapUpdateFlags)3));
        Assert.True(map.TryLookup(1u, out ulong value));
        Assert.Equal(12UL, value);
    }

    [Fact]
    public void Entries_cannot_be_deleted()
    {
        using var map = new ArrayMap("a", 4, 2);
        Assert.Equal(MapStatus.InvalidArgument, map.Delete(0u));
        Assert.Equal(2, map.Count);
    }

    [Fact]
    public void Iteration_lists_every_index_with_its_value()
    {
        using var map = new ArrayMap("a", 4, 3);
        map.Update(2u, 0xdeadu);
        var entries = map.GetEntries<uint, uint>();
        Assert.Equal([new(0u, 0u), new(1u, 0u), new(2u, 0xdeadu)], entries);
    }

    [Fact]
    public void Values_live_in_the_region_at_stride_eight()
    {
        using var map = new ArrayMap("a", 12, 3);
        Assert.Equal(16UL * 3, map.ValueRegion.Length);
        Assert.Equal(map.ValueRegion.Address + 16, map.LookupValueAddress(BitConverter.GetBytes(1u)));
        Assert.Equal(0UL, map.LookupValueAddress(BitConverter.GetBytes(3u)));
        Assert.Equal(MemoryRegionKind.MapValue, map.ValueRegion.Kind);
        Assert.Equal(1, map.ValueRegion.Writable);
    }

    [Fact]
    public void Read_only_flag_makes_the_region_read_only()
    {
        using var map = new ArrayMap(new MapDefinition("ro", BpfMapType.Array, 4, 4, 1, MapDefinition.ReadOnlyProgramFlag));
        Assert.Equal(0, map.ValueRegion.Writable);
        Assert.Equal(MapStatus.Success, map.Update(0u, 5u));
    }

    [Fact]
    public void Wrong_sizes_and_definitions_are_rejected()
    {
        using var map = new ArrayMap("a", 8, 2);
        Assert.Throws<ArgumentException>(() => map.Update(1UL, 1UL));
        Assert.Throws<ArgumentException>(() => map.Update(1u, 1u));
        Assert.Throws<ArgumentException>(() => new ArrayMap(new MapDefinition("bad", BpfMapType.Array, 8, 8, 1)));
        Assert.Throws<ArgumentException>(() => new ArrayMap("empty", 8, 0));
        Assert.Throws<ArgumentException>(() => BpfMap.Create(new MapDefinition("x", (BpfMapType)99, 4, 4, 1)));
    }

    [Fact]
    public void Disposed_maps_refuse_operations()
    {
        var map = new ArrayMap("a", 8, 2);
        map.Dispose();
        Assert.Throws<ObjectDisposedException>(() => map.Update(0u, 1UL));
        Assert.Equal(0UL, map.LookupValueAddress(new byte[4]));
    }
}
