using System.Buffers.Binary;
using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>Ring buffers through the host API (the producer side is what the ring buffer helpers call).</summary>
public unsafe class RingBufferMapTests
{
    private static List<byte[]> DrainAll(RingBufferMap ring)
    {
        var records = new List<byte[]>();
        ring.Drain(r => records.Add(r.ToArray()));
        return records;
    }

    [Fact]
    public void Records_take_a_header_and_8_byte_alignment_as_in_linux()
    {
        // Kernel (examples/kernel_maps.o, ringbuf_events): 16 + 5 + 8 bytes of records occupy 24 + 16 + 16 = 56.
        using var ring = new RingBufferMap("rb", 4096);
        Assert.Equal(MapStatus.Success, ring.Output(new byte[16]));
        Assert.Equal(MapStatus.Success, ring.Output("hello"u8));
        ulong data = ring.Reserve(8);
        Assert.True(ring.ValueRegion.Contains(data, 8));
        Assert.True(ring.Commit(data, discard: true));
        Assert.Equal(56UL, ring.Query(0));
        Assert.Equal(4096UL, ring.Query(1));
        Assert.Equal(3, ring.Count);

        // The header of the second record: length 5, page offset 0.
        var header = ring.ValueRegion.Address + 24;
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(Pointer(header), 4)));
        Assert.Equal(["hello"u8.ToArray()], DrainAll(ring).Skip(1).ToList());
        Assert.Equal(56UL, ring.Query(2));
        Assert.Equal(56UL, ring.Query(3));
    }

    [Fact]
    public void The_consumer_stops_at_a_reserved_record_and_takes_later_ones_once_it_is_committed()
    {
        using var ring = new RingBufferMap("rb", 4096);
        ulong first = ring.Reserve(4);
        Assert.Equal(MapStatus.Success, ring.Output([2]));
        Assert.False(ring.TryRead(out _));
        new Span<byte>(Pointer(first), 4).Fill(1);
        Assert.True(ring.Commit(first, discard: false));
        Assert.False(ring.Commit(first, discard: false));
        Assert.True(ring.TryRead(out var a));
        Assert.True(ring.TryRead(out var b));
        Assert.False(ring.TryRead(out _));
        Assert.Equal(new byte[] { 1, 1, 1, 1 }, a);
        Assert.Equal(new byte[] { 2 }, b);
    }

    [Fact]
    public void Peek_lists_the_submitted_records_without_consuming_them()
    {
        using var ring = new RingBufferMap("rb", 4096);
        Assert.Equal(MapStatus.Success, ring.Output([1, 2, 3]));
        ulong dropped = ring.Reserve(8);
        Assert.True(ring.Commit(dropped, discard: true));
        Assert.Equal(MapStatus.Success, ring.Output([4]));
        ulong open = ring.Reserve(2);
        Assert.Equal(MapStatus.Success, ring.Output([5]));

        // The discarded record is left out; the list stops at the record still reserved.
        Assert.Equal([new byte[] { 1, 2, 3 }, new byte[] { 4 }], ring.Peek());
        Assert.Equal(ring.Peek(), ring.Peek());
        Assert.Equal(0ul, ring.ConsumerPosition);
        Assert.True(ring.Commit(open, discard: false));
        var drained = new List<byte[]>();
        ring.Drain(record => drained.Add(record.ToArray()));
        Assert.Equal([new byte[] { 1, 2, 3 }, new byte[] { 4 }, new byte[2], new byte[] { 5 }], drained);
        Assert.Empty(ring.Peek());
    }

    [Fact]
    public void A_full_ring_refuses_records_and_a_record_that_wraps_stays_contiguous()
    {
        using var ring = new RingBufferMap("rb", 4096);
        Assert.Equal(0UL, ring.Reserve(4096 - 7));
        Assert.Equal(MapStatus.Success, ring.Output(new byte[4000]));
        Assert.Equal(MapStatus.TryAgain, ring.Output(new byte[100]));
        Assert.Single(DrainAll(ring));

        // The next 200-byte record starts at 4008 and runs past the end of the ring.
        var payload = Enumerable.Range(0, 200).Select(i => (byte)i).ToArray();
        Assert.Equal(MapStatus.Success, ring.Output(payload));
        Assert.Equal([payload], DrainAll(ring));
        Assert.Equal(4008UL + 208, ring.ConsumerPosition);
    }

    [Fact]
    public void A_garbled_header_is_reported_and_pending_records_can_be_discarded()
    {
        using var ring = new RingBufferMap("rb", 4096);
        ulong data = ring.Reserve(8);
        Assert.Equal(1, ring.DiscardPending());
        Assert.Empty(DrainAll(ring));

        ring.Output(new byte[8]);
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(Pointer(data + 16 - 8), 4), 5000);
        var error = Assert.Throws<EbpfMapException>(() => ring.Drain(_ => { }));
        Assert.Contains("garbled header", error.Message);
        Assert.Contains("power of 2", new MapDefinition("rb", BpfMapType.RingBuffer, 0, 0, 6000).Validate());
        Assert.Contains("no key or value size", new MapDefinition("rb", BpfMapType.RingBuffer, 4, 0, 4096).Validate());
    }

    [Fact]
    public void Records_committed_out_of_order_are_consumed_in_reservation_order()
    {
        using var ring = new RingBufferMap("rb", 4096);
        ulong a = ring.Reserve(1), b = ring.Reserve(1), c = ring.Reserve(1);
        *(byte*)Pointer(a) = 1;
        *(byte*)Pointer(b) = 2;
        *(byte*)Pointer(c) = 3;
        Assert.True(ring.Commit(b, discard: false));
        Assert.False(ring.Commit(b, discard: true));
        Assert.Empty(DrainAll(ring));
        Assert.True(ring.Commit(a, discard: false));
        Assert.Equal([new byte[] { 1 }, new byte[] { 2 }], DrainAll(ring));
        Assert.False(ring.Commit(a, discard: false));
        Assert.Equal(1, ring.Count);
        Assert.Equal(1, ring.DiscardPending());
        Assert.False(ring.Commit(c, discard: false));
        Assert.Empty(DrainAll(ring));
        Assert.Equal(0, ring.Count);
        Assert.Equal(ring.ProducerPosition, ring.ConsumerPosition);
    }

    private static unsafe void* Pointer(ulong address) => (void*)address;
}
