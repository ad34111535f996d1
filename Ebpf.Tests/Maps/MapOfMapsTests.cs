using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>Arrays and hashes of maps through the host API.</summary>
public class MapOfMapsTests
{
    private static readonly MapDefinition Inner = new("inner", BpfMapType.Hash, 4, 8, 16);

    private static MapOfMaps Outer(BpfMapType type, uint flags = 0) =>
        new(new MapDefinition("outer", type, 4, 4, 2) { InnerMap = Inner with { Flags = flags } });

    [Fact]
    public void Inner_maps_must_match_the_template()
    {
        using var outer = Outer(BpfMapType.ArrayOfMaps);
        using var good = outer.CreateInnerMap("good");
        using var bigger = new HashMap("bigger", 4, 8, 32);
        using var other = new ArrayMap("other", 8, 16);
        Assert.Equal(MapStatus.Success, outer.Set(0, good));
        Assert.Same(good, outer.Get(0));
        Assert.Contains("does not match the inner map template", Assert.Throws<ArgumentException>(() => outer.Set(1, bigger)).Message);
        Assert.Throws<ArgumentException>(() => outer.Set(1, other));

        // BPF_F_INNER_MAP lets inner maps have any capacity.
        using var flexible = Outer(BpfMapType.HashOfMaps, MapDefinition.InnerMapFlag);
        using var big = new HashMap(new MapDefinition("big", BpfMapType.Hash, 4, 8, 32, MapDefinition.InnerMapFlag));
        Assert.Equal(MapStatus.Success, flexible.Set(5, big));
    }

    [Fact]
    public void Arrays_and_hashes_follow_linux_for_keys_flags_and_capacity()
    {
        using var array = Outer(BpfMapType.ArrayOfMaps);
        using var hash = Outer(BpfMapType.HashOfMaps);
        using var inner = array.CreateInnerMap("i");
        Assert.Equal(MapStatus.TooBig, array.Set(2, inner));
        Assert.Equal(MapStatus.InvalidArgument, array.Set(0, inner, MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.Success, hash.Set(10, inner, MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.Exists, hash.Set(10, inner, MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.NotFound, hash.Set(11, inner, MapUpdateFlags.Exist));
        Assert.Equal(MapStatus.Success, hash.Set(11, inner));
        Assert.Equal(MapStatus.TooBig, hash.Set(12, inner));
        Assert.Equal(MapStatus.Success, hash.Delete(10u));
        Assert.Null(hash.Get(10));
        Assert.Equal(1, hash.Count);
    }

    [Fact]
    public void The_byte_level_api_reports_inner_map_ids_and_cannot_set_entries()
    {
        using var outer = Outer(BpfMapType.ArrayOfMaps);
        using var inner = outer.CreateInnerMap("i");
        outer.Set(1, inner);
        Assert.Equal(BitConverter.GetBytes(inner.Id), outer.Lookup(BitConverter.GetBytes(1u)));
        Assert.Equal(MapStatus.InvalidArgument, outer.Update(BitConverter.GetBytes(0u), BitConverter.GetBytes(inner.Id)));
        Assert.Equal(0UL, outer.LookupValueAddress(BitConverter.GetBytes(1u), 0));
    }

    [Fact]
    public void Setting_an_inner_map_registers_it_in_the_outer_maps_environments()
    {
        using var outer = Outer(BpfMapType.ArrayOfMaps);
        using var before = outer.CreateInnerMap("before");
        using var after = outer.CreateInnerMap("after");
        outer.Set(0, before);
        var environment = new ProgramEnvironment();
        environment.AddMap(outer);
        Assert.Contains(before.ValueRegion, environment.Regions);
        outer.Set(1, after);
        Assert.Contains(after.ValueRegion, environment.Regions);
        Assert.Equal(["outer", "before", "after"], MapRegistry.For(environment).Maps.Select(m => m.Name));
    }

    [Fact]
    public void Definitions_need_a_valid_template()
    {
        Assert.Contains("needs an inner map template", new MapDefinition("o", BpfMapType.ArrayOfMaps, 4, 4, 2).Validate());
        Assert.Contains("cannot be ArrayOfMaps", new MapDefinition("o", BpfMapType.HashOfMaps, 4, 4, 2) { InnerMap = new MapDefinition("i", BpfMapType.ArrayOfMaps, 4, 4, 1) }.Validate());
        Assert.Contains("inner map template: max_entries", new MapDefinition("o", BpfMapType.HashOfMaps, 4, 4, 2) { InnerMap = Inner with { MaxEntries = 0 } }.Validate());
    }
}
