using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>A ring buffer's producers and its consumer on different threads.</summary>
public class RingBufferConcurrencyTests
{
    [Fact]
    public async Task A_consumer_on_another_thread_sees_every_submitted_record_whole_and_in_order()
    {
        // Two producers fill a small ring (it wraps and fills up many times) while a consumer drains it: each record
        // holds (producer, sequence) and its complement, written after the reservation and before the submit, so a
        // record seen before its submit, or after its bytes were reused, shows as a mismatch. Every fourth record is
        // discarded and must never be seen.
        const int perProducer = 50_000;
        const long kept = 2 * (perProducer - (perProducer / 4));
        using var ring = new RingBufferMap("rb", 4096);
        var expected = new long[2];
        long seen = 0;
        string? failure = null;

        var producers = new[] { Task.Run(() => Produce(ring, 0, perProducer, () => failure is not null)), Task.Run(() => Produce(ring, 1, perProducer, () => failure is not null)) };
        var consumer = Task.Run(() =>
        {
            while (Interlocked.Read(ref seen) < kept && failure is null)
            {
                ring.Drain(record =>
                {
                    ulong value = BinaryPrimitives.ReadUInt64LittleEndian(record);
                    ulong check = BinaryPrimitives.ReadUInt64LittleEndian(record[8..]);
                    int id = (int)(value >> 32);
                    long sequence = (long)(uint)value;
                    if (record.Length != 16 || check != ~value || id > 1 || sequence % 4 == 3 || sequence < expected[id])
                    {
                        failure ??= $"record {value:x16}/{check:x16} of {record.Length} bytes after {seen} records";
                        return;
                    }

                    // The records of one producer come in its order, the discarded ones left out.
                    expected[id] = sequence + 1;
                    Interlocked.Increment(ref seen);
                });
            }
        });

        await Task.WhenAll([.. producers, consumer]).WaitAsync(TimeSpan.FromMinutes(5));
        Assert.Null(failure);
        Assert.Equal(0, ring.Drain(_ => { }));
        Assert.Equal(kept, seen);
        Assert.Equal([(long)perProducer - 1, perProducer - 1], expected);
        Assert.Equal(ring.ProducerPosition, ring.ConsumerPosition);
        Assert.Equal(0, ring.Count);
    }

    /// <summary>Writes <paramref name="count"/> 16-byte records (value, complement), waiting while the ring is full (until <paramref name="stop"/>); discards every fourth.</summary>
    private static void Produce(RingBufferMap ring, int id, int count, Func<bool> stop)
    {
        for (long i = 0; i < count; i++)
        {
            ulong data;
            var spin = default(SpinWait);
            while ((data = ring.Reserve(16)) == 0)
            {
                if (stop())
                {
                    return;
                }

                spin.SpinOnce();
            }

            ulong value = ((ulong)id << 32) | (ulong)i;
            Marshal.WriteInt64((nint)data, (long)value);
            Marshal.WriteInt64((nint)(data + 8), (long)~value);
            if (!ring.Commit(data, discard: i % 4 == 3))
            {
                throw new InvalidOperationException($"the record at 0x{data:x} reserved by producer {id} could not be committed");
            }
        }
    }
}
