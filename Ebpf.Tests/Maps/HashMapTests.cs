using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

public class HashMapTests
{
    [Fact]
    public void Update_flags_follow_linux()
    {
        using var map = new HashMap("h", 4, 8, 4);
        Assert.Equal(MapStatus.NotFound, map.Update(1u, 10UL, MapUpdateFlags.Exist));
        Assert.Equal(MapStatus.Success, map.Update(1u, 10UL, MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.Exists, map.Update(1u, 11UL, MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.Success, map.Update(1u, 12UL, MapUpdateFlags.Exist));
        Assert.Equal(MapStatus.Success, map.Update(1u, 13UL));
        Assert.Equal(MapStatus.InvalidArgument, map.Update(new byte[4], new byte[8], (MapUpdateFlags)4));
        Assert.True(map.TryLookup(1u, out ulong value));
        Assert.Equal(13UL, value);
        Assert.Equal(1, map.Count);
    }

    [Fact]
    public void Capacity_is_enforced_and_deleting_frees_a_slot()
    {
        using var map = new HashMap("h", 4, 4, 3);
        for (uint k = 0; k < 3; k++)
        {
            Assert.Equal(MapStatus.Success, map.Update(k, k * 10));
        }

        Assert.Equal(MapStatus.TooBig, map.Update(7u, 70u));
        Assert.Equal(MapStatus.Success, map.Update(2u, 21u));
        Assert.Equal(MapStatus.Success, map.Delete(1u));
        Assert.Equal(MapStatus.NotFound, map.Delete(1u));
        Assert.Equal(MapStatus.Success, map.Update(7u, 70u));
        Assert.Equal(3, map.Count);
        Assert.False(map.TryLookup(1u, out uint _));
    }

    [Fact]
    public void Iteration_returns_every_entry()
    {
        using var map = new HashMap("h", 2, 4, 8);
        map.Update((ushort)5, 50u);
        map.Update((ushort)9, 90u);
        map.Update((ushort)3, 30u);
        map.Delete((ushort)9);
        var entries = map.GetEntries<ushort, uint>().ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(new Dictionary<ushort, uint> { [5] = 50, [3] = 30 }, entries);
    }

    [Fact]
    public void Value_addresses_stay_fixed_and_inside_the_region()
    {
        using var map = new HashMap("h", 4, 8, 4);
        map.Update(1u, 1UL);
        ulong address = map.LookupValueAddress(BitConverter.GetBytes(1u));
        Assert.True(map.ValueRegion.Contains(address, 8));
        map.Update(2u, 2UL);
        map.Update(1u, 3UL);
        Assert.Equal(address, map.LookupValueAddress(BitConverter.GetBytes(1u)));
        Assert.Equal(0UL, map.LookupValueAddress(BitConverter.GetBytes(9u)));
    }

    [Fact]
    public void Keys_of_any_size_compare_by_content()
    {
        using var map = new HashMap("h", 6, 4, 4);
        byte[] a = [1, 2, 3, 4, 5, 6];
        Assert.Equal(MapStatus.Success, map.Update(a, [9, 9, 9, 9]));
        Assert.Equal([9, 9, 9, 9], map.Lookup((byte[])a.Clone()));
        Assert.Null(map.Lookup([1, 2, 3, 4, 5, 7]));
    }

    [Fact]
    public void Concurrent_updates_and_deletes_keep_the_map_consistent()
    {
        using var map = new HashMap("h", 4, 8, 64);
        Parallel.For(0, 4, worker =>
        {
            for (int i = 0; i < 2000; i++)
            {
                uint key = (uint)(worker * 16 + (i % 16));
                map.Update(key, (ulong)i);
                if (i % 3 == 0)
                {
                    map.Delete(key);
                }
            }
        });

        // Worker w owns keys 16w..16w+15; its last operation on key 16w+j was at the largest i < 2000 with i % 16 == j.
        for (uint worker = 0; worker < 4; worker++)
        {
            for (int j = 0; j < 16; j++)
            {
                int last = 1984 + j;
                bool present = map.TryLookup(worker * 16 + (uint)j, out ulong value);
                Assert.Equal(last % 3 != 0, present);
                if (present)
                {
                    Assert.Equal((ulong)last, value);
                }
            }
        }

        Assert.Equal(Enumerable.Range(1984, 16).Count(i => i % 3 != 0) * 4, map.Count);
    }
}
