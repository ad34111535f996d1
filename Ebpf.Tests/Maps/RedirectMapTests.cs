using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>devmap, devmap_hash, cpumap and xskmap: what they store and where a redirect goes.</summary>
public class RedirectMapTests
{
    [Theory]
    [InlineData(BpfMapType.DevMap, 4u)]
    [InlineData(BpfMapType.DevMap, 8u)]
    [InlineData(BpfMapType.CpuMap, 4u)]
    [InlineData(BpfMapType.XskMap, 4u)]
    public void Array_forms_resolve_present_indices_and_refuse_bpf_noexist(BpfMapType type, uint valueSize)
    {
        using var map = (RedirectMap)BpfMap.Create(new MapDefinition("tx", type, 4, valueSize, 4));
        Assert.False(map.Resolve(1, out _));
        var value = new byte[valueSize];
        BitConverter.TryWriteBytes(value, 12u);
        Assert.Equal(MapStatus.Success, map.Update(BitConverter.GetBytes(1u), value, MapUpdateFlags.Exist));
        Assert.Equal(MapStatus.Exists, map.Update(BitConverter.GetBytes(2u), value, MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.TooBig, map.Update(BitConverter.GetBytes(4u), value));
        Assert.True(map.Resolve(1, out var target));
        Assert.Equal(new RedirectTarget(type, "tx", 1, 12), target);
        Assert.Equal(MapStatus.Success, map.Delete(1u));
        Assert.False(map.Resolve(1, out _));
    }

    [Fact]
    public void Devmap_hash_takes_any_u32_key_up_to_its_capacity()
    {
        using var map = (RedirectMap)BpfMap.Create(new MapDefinition("ifaces", BpfMapType.DevMapHash, 4, 4, 2));
        Assert.Equal(MapStatus.Success, map.Update(1000u, 7u, MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.Success, map.Update(2000u, 8u));
        Assert.Equal(MapStatus.TooBig, map.Update(3000u, 9u));
        Assert.True(map.Resolve(2000, out var target));
        Assert.Equal(8u, target.Value);
        Assert.Contains("4- or 8-byte values", new MapDefinition("d", BpfMapType.DevMap, 4, 6, 2).Validate());
        Assert.Contains("needs a 4-byte value", new MapDefinition("x", BpfMapType.XskMap, 4, 8, 2).Validate());
    }
}
