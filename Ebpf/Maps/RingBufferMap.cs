namespace Ebpf.Maps;

/// <summary>
/// <c>BPF_MAP_TYPE_RINGBUF</c>: a ring of <see cref="BpfMap.MaxEntries"/> bytes (a power of 2, at least 4096) that
/// programs fill with variable-size records (<c>bpf_ringbuf_output</c>, or <c>bpf_ringbuf_reserve</c> then
/// <c>bpf_ringbuf_submit</c>/<c>bpf_ringbuf_discard</c>) and the host consumes in order with <see cref="TryRead"/> or
/// <see cref="Drain"/>. Each record has Linux's 8-byte header (u32 length with bit 31 "busy" and bit 30 "discarded",
/// u32 page offset) and takes <c>round_up(length + 8, 8)</c> bytes. Records are committed out of order but consumed in
/// order: the consumer stops at the first record still reserved. Keys and values do not apply (both sizes are 0).
/// </summary>
/// <remarks>
/// The ring's memory is one region programs may write (it is allocated twice as large as the ring so that a record
/// that wraps around stays contiguous, as Linux maps the ring's pages twice). Unlike Linux's verifier, the engines'
/// memory checks confine a program to the ring, not to the record it reserved: a program that writes past its record
/// can garble other records, which the consumer then reports with <see cref="EbpfMapException"/>, never reading outside
/// the ring. A record reserved but never submitted (Linux rejects such programs; here a run that failed midway can
/// leave one) blocks the consumer until <see cref="DiscardPending"/>.
/// </remarks>
public sealed unsafe class RingBufferMap : BpfMap
{
    /// <summary>The record header size.</summary>
    public const int HeaderSize = 8;

    /// <summary>Bit 31 of a header's length: the record is reserved, not yet submitted or discarded.</summary>
    public const uint BusyBit = 1u << 31;

    /// <summary>Bit 30 of a header's length: the record was discarded.</summary>
    public const uint DiscardBit = 1u << 30;

    private readonly object consumerGate = new();
    private int producerLock;
    private ulong[] pending = new ulong[4];
    private int pendingCount;
    private ulong producer;
    private ulong consumer;

    /// <summary>Creates a ring buffer.</summary>
    /// <exception cref="ArgumentException">The definition is invalid or not a ring buffer.</exception>
    public RingBufferMap(MapDefinition definition)
        : base(definition, BpfMapType.RingBuffer)
    {
    }

    /// <summary>Creates a ring buffer of <paramref name="size"/> bytes (a power of 2, at least 4096).</summary>
    public RingBufferMap(string name, uint size)
        : this(new MapDefinition(name, BpfMapType.RingBuffer, 0, 0, size))
    {
    }

    /// <summary>The number of records produced (reserved, submitted or discarded) and not yet consumed.</summary>
    public override int Count
    {
        get
        {
            lock (consumerGate)
            {
                int records = 0;
                ulong end = Volatile.Read(ref producer);
                for (ulong position = consumer; position < end; position += RecordBytes(Header(position) & ~(BusyBit | DiscardBit)))
                {
                    records++;
                }

                return records;
            }
        }
    }

    /// <summary>The ring size in bytes.</summary>
    public ulong Size => (ulong)MaxEntries;

    /// <summary>The producer position (bytes produced since creation).</summary>
    public ulong ProducerPosition => Volatile.Read(ref producer);

    /// <summary>The consumer position (bytes consumed since creation).</summary>
    public ulong ConsumerPosition => Volatile.Read(ref consumer);

    /// <summary>
    /// Reserves a record of <paramref name="size"/> bytes, as <c>bpf_ringbuf_reserve</c> does, and returns the address
    /// of its data (inside <see cref="BpfMap.ValueRegion"/>), or 0 when the ring has no room or the size is too large.
    /// The record must then be committed with <see cref="Commit"/>.
    /// </summary>
    /// <remarks>
    /// Producers (reserve and commit, from any number of threads) take a spin lock of their own, as Linux's producers
    /// do; the consumer never takes it except to tell a record still reserved from a garbled header, so a consumer on
    /// another thread costs a producer nothing. The header and the producer position are published with release
    /// stores: a consumer that sees the new position sees the record's header, busy until the record is committed.
    /// </remarks>
    public ulong Reserve(ulong size)
    {
        if (size > Size - HeaderSize)
        {
            return 0;
        }

        ulong length = RecordBytes((uint)size);

        // A full ring refuses without the lock (a ring nobody consumes is full after its first records): the producer
        // position first, then the consumer's, so the ring was full at the moment the consumer's was read.
        ulong produced = Volatile.Read(ref producer);
        if (produced - Volatile.Read(ref consumer) + length > Size)
        {
            return 0;
        }

        EnterProducer();
        try
        {
            ulong position = producer;
            if (IsDisposed || position - Volatile.Read(ref consumer) + length > Size)
            {
                return 0;
            }

            ulong offset = position & (Size - 1);
            var header = (uint*)(Storage + offset);
            header[1] = (uint)(offset / 4096);
            Volatile.Write(ref header[0], (uint)size | BusyBit);
            AddPending(position);
            Volatile.Write(ref producer, position + length);
            return (ulong)(Storage + offset + HeaderSize);
        }
        finally
        {
            ExitProducer();
        }
    }

    /// <summary>
    /// Submits (or with <paramref name="discard"/> discards) the record whose data starts at <paramref name="data"/>,
    /// as <c>bpf_ringbuf_submit</c>/<c>bpf_ringbuf_discard</c> do; false when no record reserved and not yet committed
    /// starts there.
    /// </summary>
    public bool Commit(ulong data, bool discard)
    {
        EnterProducer();
        try
        {
            return CommitPending(data, discard);
        }
        finally
        {
            ExitProducer();
        }
    }

    /// <summary>Writes one record with a copy of <paramref name="data"/>, as <c>bpf_ringbuf_output</c> does.</summary>
    /// <returns><see cref="MapStatus.Success"/>, or <see cref="MapStatus.TryAgain"/> when the ring has no room.</returns>
    public MapStatus Output(ReadOnlySpan<byte> data)
    {
        ulong address = Reserve((ulong)data.Length);
        if (address == 0)
        {
            return MapStatus.TryAgain;
        }

        data.CopyTo(new Span<byte>((void*)address, data.Length));
        Commit(address, discard: false);
        return MapStatus.Success;
    }

    /// <summary>
    /// Takes the next submitted record (skipping discarded ones) as a copy; false when there is none, or when the next
    /// record is still reserved.
    /// </summary>
    /// <exception cref="EbpfMapException">A record header was overwritten (a program wrote past its record).</exception>
    public bool TryRead(out byte[] record)
    {
        byte[]? taken = null;
        Consume(span => taken = span.ToArray(), 1);
        record = taken ?? [];
        return taken is not null;
    }

    /// <summary>
    /// Passes every submitted record, in order, to <paramref name="handler"/> (the span is valid only during the call)
    /// and consumes them; stops at the first record still reserved. Returns the number of records handled. Producers
    /// may reserve and commit records meanwhile, on any thread (the handler too): a record's bytes are reused only
    /// after the handler returned.
    /// </summary>
    /// <exception cref="EbpfMapException">A record header was overwritten (a program wrote past its record).</exception>
    public int Drain(Action<ReadOnlySpan<byte>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Consume(handler, int.MaxValue);
    }

    /// <summary>
    /// The submitted records not yet consumed, in order, as copies, without consuming them (discarded records are left
    /// out; the list stops at the first record still reserved).
    /// </summary>
    /// <exception cref="EbpfMapException">A record header was overwritten (a program wrote past its record).</exception>
    public IReadOnlyList<byte[]> Peek()
    {
        var records = new List<byte[]>();
        Consume(span => records.Add(span.ToArray()), int.MaxValue, advance: false);
        return records;
    }

    /// <summary>Discards every record reserved and never committed, so that the consumer can pass them; returns their number.</summary>
    public int DiscardPending()
    {
        EnterProducer();
        try
        {
            int discarded = pendingCount;
            while (pendingCount > 0)
            {
                CommitPending(DataAddress(pending[pendingCount - 1]), discard: true);
            }

            return discarded;
        }
        finally
        {
            ExitProducer();
        }
    }

    /// <summary>
    /// What <c>bpf_ringbuf_query</c> returns: 0 <c>BPF_RB_AVAIL_DATA</c> (bytes produced and not consumed), 1
    /// <c>BPF_RB_RING_SIZE</c>, 2 <c>BPF_RB_CONS_POS</c>, 3 <c>BPF_RB_PROD_POS</c>; 0 for anything else.
    /// </summary>
    public ulong Query(ulong flags)
    {
        switch (flags)
        {
            case 0:
                // The consumer first: it never passes the producer, so the difference is never negative.
                ulong consumed = Volatile.Read(ref consumer);
                return Volatile.Read(ref producer) - consumed;
            case 1:
                return Size;
            case 2:
                return Volatile.Read(ref consumer);
            case 3:
                return Volatile.Read(ref producer);
            default:
                return 0;
        }
    }

    /// <summary>Programs never look a key up in a ring buffer: always 0.</summary>
    public override ulong LookupValueAddress(ReadOnlySpan<byte> key, int cpu) => 0;

    /// <inheritdoc />
    protected override bool TryCopyValue(ReadOnlySpan<byte> key, Span<byte> value) => false;

    /// <inheritdoc />
    protected override MapStatus UpdateCore(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, MapUpdateFlags flags, int cpu) => MapStatus.InvalidArgument;

    /// <inheritdoc />
    protected override MapStatus DeleteCore(ReadOnlySpan<byte> key) => MapStatus.InvalidArgument;

    /// <summary>A ring buffer has no entries to list: empty (read records with <see cref="Drain"/>).</summary>
    protected override IReadOnlyList<KeyValuePair<byte[], byte[]>> SnapshotEntries() => [];

    private static ulong RecordBytes(uint length) => ((ulong)length + HeaderSize + 7) & ~7ul;

    private uint Header(ulong position) => Volatile.Read(ref *(uint*)(Storage + (position & (Size - 1))));

    private ulong DataAddress(ulong position) => (ulong)(Storage + (position & (Size - 1)) + HeaderSize);

    private void EnterProducer()
    {
        if (Interlocked.CompareExchange(ref producerLock, 1, 0) != 0)
        {
            EnterProducerContended();
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void EnterProducerContended()
    {
        var spin = default(SpinWait);
        do
        {
            spin.SpinOnce();
        }
        while (Volatile.Read(ref producerLock) != 0 || Interlocked.CompareExchange(ref producerLock, 1, 0) != 0);
    }

    private void ExitProducer() => Volatile.Write(ref producerLock, 0);

    /// <summary>Records the position of a record just reserved (the producer lock is held).</summary>
    private void AddPending(ulong position)
    {
        if (pendingCount == pending.Length)
        {
            Array.Resize(ref pending, pending.Length * 2);
        }

        pending[pendingCount++] = position;
    }

    /// <summary>Commits the reserved record whose data starts at <paramref name="data"/> (the producer lock is held).</summary>
    private bool CommitPending(ulong data, bool discard)
    {
        // The record committed is nearly always the one reserved last: search from there.
        int index = pendingCount - 1;
        while (index >= 0 && DataAddress(pending[index]) != data)
        {
            index--;
        }

        if (index < 0)
        {
            return false;
        }

        pending[index] = pending[--pendingCount];
        var header = (uint*)(data - HeaderSize);
        Volatile.Write(ref *header, (*header & ~(BusyBit | DiscardBit)) | (discard ? DiscardBit : 0));
        return true;
    }

    /// <summary>Whether the record at <paramref name="position"/> is reserved and not yet committed.</summary>
    private bool IsPending(ulong position)
    {
        EnterProducer();
        try
        {
            return Array.IndexOf(pending, position, 0, pendingCount) >= 0;
        }
        finally
        {
            ExitProducer();
        }
    }

    private int Consume(Action<ReadOnlySpan<byte>> handler, int most, bool advance = true)
    {
        int handled = 0;
        lock (consumerGate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            ulong position = consumer;
            while (handled < most)
            {
                // The producer position first: the headers of the records before it are written.
                ulong end = Volatile.Read(ref producer);
                if (position >= end)
                {
                    break;
                }

                uint header = Header(position);
                if ((header & BusyBit) != 0)
                {
                    if (IsPending(position))
                    {
                        break;
                    }

                    // Committed since it was read, or garbled.
                    header = Header(position);
                }

                uint length = header & ~(BusyBit | DiscardBit);
                if ((header & BusyBit) != 0 || RecordBytes(length) > end - position)
                {
                    throw new EbpfMapException(Name, $"the ring buffer record at position {position} has a garbled header 0x{header:x8} (a program wrote past its record)");
                }

                if ((header & DiscardBit) == 0)
                {
                    handler(new ReadOnlySpan<byte>(Storage + (position & (Size - 1)) + HeaderSize, (int)length));
                    handled++;
                }

                position += RecordBytes(length);
                if (advance)
                {
                    // Released only after the handler returned: producers reuse the record's bytes from then on.
                    Volatile.Write(ref consumer, position);
                }
            }
        }

        return handled;
    }
}
