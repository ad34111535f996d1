using System.Runtime.CompilerServices;

namespace Ebpf.Helpers;

/// <summary>
/// The memory a program's lookup in a hash map (plain, per-CPU, LRU or LRU per-CPU) reads, for an engine that walks the
/// map's key index in its own machine code instead of calling <see cref="DirectLookup.Find"/> (see
/// <see cref="DirectLookup.Layout"/>).
/// </summary>
/// <remarks>
/// <para>The index is chained buckets over arrays: <see cref="Buckets"/> holds the first slot + 1 of each chain (0 ends
/// it), <see cref="Next"/> the next slot + 1 of each slot, <see cref="Hashes"/> each slot's 32-bit hash and
/// <see cref="Keys"/> each slot's key in one 8-byte word (zero-padded). A key's hash is
/// <c>Mix(Seed ^ key)</c> with the key read as a little-endian 4- or 8-byte integer, where <c>Mix</c> is
/// <c>h ^= h &gt;&gt; 33; h *= 0xFF51AFD7ED558CCD; h ^= h &gt;&gt; 33; h *= 0xC4CE_B9FE_1A85_EC53; h ^= h &gt;&gt; 33</c>
/// folded to 32 bits as <c>(uint)h ^ (uint)(h &gt;&gt; 32)</c>.</para>
/// <para>A lookup must follow the index's protocol, as the map's own lock-free lookup does: read the 32-bit
/// <see cref="Sequence"/>; when it is odd a writer is at work and the lookup must be left to
/// <see cref="DirectLookup.Find"/>; walk at most <see cref="Capacity"/> links, range-checking every slot number against
/// it; then read the sequence again (after every read of the walk, which x86-64 keeps in order) and accept the answer
/// only when it has not moved, else leave the lookup to <see cref="DirectLookup.Find"/>. When <see cref="Newest"/> is
/// set (an LRU map), a walk that finds its key must also read the 32-bit slot number there between the two reads of the
/// sequence, and accept the slot only when the two are equal (the entry is already the most recently used, so the lookup
/// changes no order); any other found slot is left to <see cref="DirectLookup.Find"/>, which moves the entry to the front
/// under the map's lock. A miss needs no such read (it changes no order). The 64-bit word at
/// <see cref="LiveEntries"/> is 0 once the map is disposed: the lookup then finds nothing.</para>
/// <para>Every address stays valid while the <see cref="DirectLookup"/> that gave the layout is reachable: the arrays are
/// pinned and held by the map, the live word and the values are in the map's native storage, which a map registered in
/// an environment frees only when it is unreachable.</para>
/// </remarks>
internal sealed record HashLookupLayout
{
    /// <summary>The first multiplier of the index's hash (<c>Mix</c> in the remarks): the map's index and an engine's walk use this one constant.</summary>
    public const ulong MixMultiplier1 = 0xFF51_AFD7_ED55_8CCD;

    /// <summary>The second multiplier of the index's hash.</summary>
    public const ulong MixMultiplier2 = 0xC4CE_B9FE_1A85_EC53;

    /// <summary>
    /// What <see cref="Walk"/> returns when the index's protocol leaves the lookup to <see cref="DirectLookup.Find"/>:
    /// all ones, which no value address is.
    /// </summary>
    public const ulong WalkFallback = ulong.MaxValue;

    /// <summary>The index's hash of a key word (or of a longer key's folded words): <c>Mix</c> in the remarks, folded to 32 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Mix(ulong h)
    {
        h ^= h >> 33;
        h *= MixMultiplier1;
        h ^= h >> 33;
        h *= MixMultiplier2;
        h ^= h >> 33;
        return (uint)h ^ (uint)(h >> 32);
    }

    /// <summary>
    /// One lookup of the key at <paramref name="keyAddress"/> (<paramref name="keySize"/> bytes: 4 or 8) by the index's
    /// protocol (see the remarks), for an engine that walks the index in managed code: the slot's value address, 0 when
    /// the key is absent or the map is disposed, or <see cref="WalkFallback"/> when the lookup must be left to
    /// <see cref="DirectLookup.Find"/> (a writer is or was at work, or an LRU map's entry is not its newest). The other
    /// parameters are the layout's properties of the same names, passed one by one so that an engine that compiles
    /// them in as constants lets the runtime inline the walk with them folded in. The caller has checked the key's
    /// bytes as the helper checks them.
    /// </summary>
    /// <remarks>
    /// Every read of the walk comes between the sequence's two reads on any processor: the first is an acquire read,
    /// and a read barrier comes before the second (x86-64 keeps loads in order anyway; an Arm64 host does not).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe ulong Walk(
        ulong keyAddress, int keySize, ulong seed, nint buckets, uint bucketMask, nint next, nint hashes, nint keys, int capacity,
        nint sequence, nint liveEntries, nint values, long slotStride, nint newest)
    {
        if (*(ulong*)liveEntries == 0)
        {
            return 0;
        }

        ulong key = keySize == 8 ? *(ulong*)keyAddress : *(uint*)keyAddress;
        uint hash = Mix(seed ^ key);
        int before = Volatile.Read(ref *(int*)sequence);
        if ((before & 1) != 0)
        {
            return WalkFallback;
        }

        ulong found = 0;
        uint link = ((uint*)buckets)[hash & bucketMask];
        for (int steps = capacity; steps > 0 && link != 0; steps--)
        {
            uint slot = link - 1;
            if (slot >= (uint)capacity)
            {
                break;
            }

            if (((uint*)hashes)[slot] == hash && (keySize == 8 ? ((ulong*)keys)[slot] == key : (uint)((ulong*)keys)[slot] == (uint)key))
            {
                if (newest != 0 && Volatile.Read(ref *(int*)newest) != (int)slot)
                {
                    return WalkFallback;
                }

                found = (ulong)values + (slot * (ulong)slotStride);
                break;
            }

            link = ((uint*)next)[slot];
        }

        Volatile.ReadBarrier();
        return Volatile.Read(ref *(int*)sequence) == before ? found : WalkFallback;
    }

    /// <summary>The key size: 4 or 8 bytes.</summary>
    public required int KeySize { get; init; }

    /// <summary>The index's hash seed.</summary>
    public required ulong Seed { get; init; }

    /// <summary>The bucket array (<see cref="BucketMask"/> + 1 32-bit links).</summary>
    public required nint Buckets { get; init; }

    /// <summary>The bucket count minus one: a hash's bucket is <c>hash &amp; BucketMask</c>.</summary>
    public required uint BucketMask { get; init; }

    /// <summary>The next-link array (<see cref="Capacity"/> 32-bit links).</summary>
    public required nint Next { get; init; }

    /// <summary>The slots' 32-bit hashes (<see cref="Capacity"/> of them).</summary>
    public required nint Hashes { get; init; }

    /// <summary>The slots' keys, one 8-byte word each (<see cref="Capacity"/> of them).</summary>
    public required nint Keys { get; init; }

    /// <summary>The number of slots.</summary>
    public required int Capacity { get; init; }

    /// <summary>The index's 32-bit sequence counter (odd while a writer changes the index).</summary>
    public required nint Sequence { get; init; }

    /// <summary>A 64-bit word that is 0 once the map is disposed.</summary>
    public required nint LiveEntries { get; init; }

    /// <summary>The address of slot 0's value for the lookup's CPU.</summary>
    public required nint Values { get; init; }

    /// <summary>The distance in bytes between two slots' values.</summary>
    public required long SlotStride { get; init; }

    /// <summary>
    /// For an LRU map, the 32-bit slot number of its most recently used entry (-1 when it is empty; written under the
    /// map's lock), which a found slot must equal (see the remarks); 0 for a map whose lookups change no order.
    /// </summary>
    public nint Newest { get; init; }
}
