using System.Buffers.Binary;
using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>LRU hash maps through the host API.</summary>
public class LruHashMapTests
{
    private static uint[] Ages(HashMap map) => map.KeysByAge().Select(k => BinaryPrimitives.ReadUInt32LittleEndian(k)).ToArray();

    [Fact]
    public void A_full_map_evicts_the_least_recently_used_entry_instead_of_failing()
    {
        using var map = new HashMap(new MapDefinition("lru", BpfMapType.LruHash, 4, 8, 3));
        map.Update(1u, 10UL);
        map.Update(2u, 20UL);
        map.Update(3u, 30UL);
        Assert.NotEqual(0UL, map.LookupValueAddress(BitConverter.GetBytes(1u), 0));  // a program's lookup: 1 becomes the most recent
        map.Update(2u, 21UL);                                                        // so does 2 (an update)
        Assert.True(map.TryLookup(3u, out ulong _));                                 // a host lookup is not a use
        Assert.Equal([3u, 1u, 2u], Ages(map));
        Assert.Equal(MapStatus.Success, map.Update(4u, 40UL));
        Assert.Equal([1u, 2u, 4u], Ages(map));
        Assert.False(map.TryLookup(3u, out ulong _));
        Assert.Equal(3, map.Count);
    }

    [Fact]
    public void Deleting_frees_a_slot_without_eviction_and_flags_still_apply()
    {
        using var map = new HashMap(new MapDefinition("lru", BpfMapType.LruHash, 4, 4, 2));
        map.Update(1u, 1u);
        map.Update(2u, 2u);
        Assert.Equal(MapStatus.Success, map.Delete(1u));
        Assert.Equal(MapStatus.Success, map.Update(3u, 3u, MapUpdateFlags.NoExist));
        Assert.Equal([2u, 3u], Ages(map));
        Assert.Equal(MapStatus.Exists, map.Update(3u, 4u, MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.NotFound, map.Update(9u, 4u, MapUpdateFlags.Exist));
        Assert.Equal([2u, 3u], Ages(map));
    }

    [Fact]
    public void A_program_lookup_counts_as_a_use()
    {
        using var map = new HashMap(new MapDefinition("lru", BpfMapType.LruHash, 4, 4, 2));
        map.Update(1u, 1u);
        map.Update(2u, 2u);
        Assert.NotEqual(0UL, map.LookupValueAddress(BitConverter.GetBytes(1u), 0));
        map.Update(3u, 3u);
        Assert.Equal([1u, 3u], Ages(map));
    }

    [Fact]
    public void Lookups_of_the_newest_entry_and_misses_keep_the_order_and_other_lookups_move_their_entry()
    {
        using var map = new HashMap(new MapDefinition("lru", BpfMapType.LruHash, 4, 8, 3));
        map.Update(1u, 10UL);
        map.Update(2u, 20UL);
        map.Update(3u, 30UL);
        Assert.Equal(30UL, Read(map.LookupValueAddress(BitConverter.GetBytes(3u), 0)));  // the newest: no change
        Assert.Equal(0UL, map.LookupValueAddress(BitConverter.GetBytes(7u), 0));          // a miss: no change
        Assert.Equal([1u, 2u, 3u], Ages(map));
        Assert.Equal(10UL, Read(map.LookupValueAddress(BitConverter.GetBytes(1u), 0)));  // the oldest becomes the newest
        Assert.Equal([2u, 3u, 1u], Ages(map));
        Assert.Equal(10UL, Read(map.LookupValueAddress(BitConverter.GetBytes(1u), 0)));  // the newest again: no change
        Assert.Equal(30UL, Read(map.LookupValueAddress(BitConverter.GetBytes(3u), 0)));  // the middle one moves
        Assert.Equal([2u, 1u, 3u], Ages(map));
        map.Update(4u, 40UL);                                                            // evicts 2, the least recent
        Assert.Equal([1u, 3u, 4u], Ages(map));
    }

    [Fact]
    public void A_deleted_newest_entry_whose_slot_holds_another_key_is_not_found()
    {
        using var map = new HashMap(new MapDefinition("lru", BpfMapType.LruHash, 4, 8, 2));
        map.Update(1u, 10UL);
        map.Update(2u, 20UL);
        Assert.Equal(20UL, Read(map.LookupValueAddress(BitConverter.GetBytes(2u), 0)));
        Assert.Equal(MapStatus.Success, map.Delete(2u));
        Assert.Equal(0UL, map.LookupValueAddress(BitConverter.GetBytes(2u), 0));
        map.Update(5u, 50UL);                                                            // takes the freed slot, newest
        Assert.Equal(0UL, map.LookupValueAddress(BitConverter.GetBytes(2u), 0));
        Assert.Equal(50UL, Read(map.LookupValueAddress(BitConverter.GetBytes(5u), 0)));
        Assert.Equal([1u, 5u], Ages(map));
    }

    private static unsafe ulong Read(ulong address) => *(ulong*)address;
}
