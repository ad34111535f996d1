using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>Queues and stacks through the host API.</summary>
public class QueueMapTests
{
    private static QueueMap Create(BpfMapType type, uint maxEntries = 3) => new(new MapDefinition("q", type, 0, 4, maxEntries));

    private static uint? Pop(QueueMap map)
    {
        var value = new byte[4];
        return map.TryPop(value) ? BitConverter.ToUInt32(value) : null;
    }

    [Theory]
    [InlineData(BpfMapType.Queue, new uint[] { 1, 2, 3 })]
    [InlineData(BpfMapType.Stack, new uint[] { 3, 2, 1 })]
    public void Values_come_out_in_queue_or_stack_order(BpfMapType type, uint[] expected)
    {
        using var map = Create(type);
        foreach (uint v in new uint[] { 1, 2, 3 })
        {
            Assert.Equal(MapStatus.Success, map.Push(BitConverter.GetBytes(v)));
        }

        var peeked = new byte[4];
        Assert.True(map.TryPeek(peeked));
        Assert.Equal(expected[0], BitConverter.ToUInt32(peeked));
        Assert.Equal(expected, map.GetEntries().Select(e => BitConverter.ToUInt32(e.Value)).ToArray());
        Assert.Equal(expected, new[] { Pop(map), Pop(map), Pop(map) }.Select(v => v!.Value).ToArray());
        Assert.Null(Pop(map));
        Assert.False(map.TryPeek(peeked));
    }

    [Theory]
    [InlineData(BpfMapType.Queue, 2u)]
    [InlineData(BpfMapType.Stack, 4u)]
    public void A_full_map_refuses_a_push_unless_bpf_exist_drops_the_oldest(BpfMapType type, uint next)
    {
        // As the kernel did for examples/kernel_maps.o (queue_sequence): -E2BIG, then BPF_EXIST replaces value 1.
        using var map = Create(type);
        foreach (uint v in new uint[] { 1, 2, 3 })
        {
            map.Push(BitConverter.GetBytes(v));
        }

        Assert.Equal(MapStatus.TooBig, map.Push(BitConverter.GetBytes(4u)));
        Assert.Equal(MapStatus.Success, map.Push(BitConverter.GetBytes(4u), MapUpdateFlags.Exist));
        Assert.Equal(3, map.Count);
        Assert.Equal(next, Pop(map));
    }

    [Fact]
    public void The_byte_level_api_pushes_peeks_and_refuses_deletes_as_linux_does()
    {
        using var map = Create(BpfMapType.Queue);
        Assert.Equal(MapStatus.Success, map.Update([], BitConverter.GetBytes(9u)));
        Assert.Equal(MapStatus.InvalidArgument, map.Update([], BitConverter.GetBytes(9u), MapUpdateFlags.NoExist));
        Assert.Equal(BitConverter.GetBytes(9u), map.Lookup([]));
        Assert.Equal(MapStatus.InvalidArgument, map.Delete([]));
        Assert.Equal(0UL, map.LookupValueAddress([], 0));
        Assert.Throws<ArgumentException>(() => map.TryPop(new byte[3]));
        Assert.Contains("needs a 0-byte key", new MapDefinition("q", BpfMapType.Stack, 4, 4, 1).Validate());
        Assert.Contains("exceed the 256 MiB limit", new MapDefinition("q", BpfMapType.Queue, 0, 8, uint.MaxValue).Validate());
    }
}
