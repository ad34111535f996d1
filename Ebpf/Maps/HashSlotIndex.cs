using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ebpf.Maps;

/// <summary>
/// The key index of a <see cref="HashMap"/>: which value slot holds which key. Chained buckets over plain arrays (a
/// bucket holds its first slot + 1, each slot the next slot + 1 of its chain, 0 ends a chain), with each slot's key and
/// hash stored beside it, so a lookup hashes the key once (seeded per map, against chosen-key collisions), walks one
/// short chain and compares 4-, 8- and 16-byte keys as one or two words.
/// </summary>
/// <remarks>
/// <para>Writers (<see cref="Insert"/>, <see cref="Remove"/>) run under the map's lock and bracket every change with
/// <see cref="BeginWrite"/>/<see cref="EndWrite"/>, which make a sequence counter odd and then even again.
/// <see cref="Find"/> takes no lock: it reads the counter, walks the chain, and accepts what it found only when the
/// counter was even and has not moved, else it tries again (after a few tries it returns <see cref="Contended"/> and the
/// caller takes the lock). A walk that races with a writer may read half-written links or keys, but only inside these
/// arrays (every slot number is range-checked, every walk is bounded by the capacity), and its answer is then thrown
/// away. So a lookup never sees memory outside the map and never returns the slot of another key.</para>
/// <para>The arrays are managed and live as long as the map object: a lookup racing with the map's disposal reads
/// arrays the collector keeps alive. They are allocated on the pinned object heap, and the sequence counter lives in
/// one of them, so that their addresses never change: an engine may walk the index in its own machine code with the same
/// protocol (see <see cref="Layout"/>).</para>
/// </remarks>
internal sealed class HashSlotIndex
{
    /// <summary>What <see cref="Find"/> returns when writers kept changing the index during every try.</summary>
    public const int Contended = -2;

    private const int Tries = 4;

    private readonly int[] buckets;
    private readonly int[] next;
    private readonly uint[] hashes;
    private readonly ulong[] keys;
    private readonly int keySize;
    private readonly int keyWords;
    private readonly uint mask;
    private readonly ulong seed;

    /// <summary>The sequence counter, alone in a pinned array (see the remarks).</summary>
    private readonly int[] sequence = GC.AllocateArray<int>(1, pinned: true);

    /// <summary>Creates an empty index for <paramref name="capacity"/> slots with keys of <paramref name="keySize"/> bytes.</summary>
    public HashSlotIndex(int capacity, int keySize)
    {
        int bucketCount = (int)Math.Min(1u << 30, Math.Max(16u, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity)));
        buckets = GC.AllocateArray<int>(bucketCount, pinned: true);
        mask = (uint)bucketCount - 1;
        next = GC.AllocateArray<int>(capacity, pinned: true);
        hashes = GC.AllocateArray<uint>(capacity, pinned: true);
        this.keySize = keySize;
        keyWords = (keySize + 7) / 8;
        keys = GC.AllocateArray<ulong>(checked(capacity * keyWords), pinned: true);
        seed = (ulong)Random.Shared.NextInt64() | 1;
    }

    /// <summary>The hash of <paramref name="key"/> (seeded per index).</summary>
    public uint Hash(ReadOnlySpan<byte> key)
    {
        ref byte start = ref MemoryMarshal.GetReference(key);
        switch (key.Length)
        {
            case 4:
                return Mix(seed ^ Unsafe.ReadUnaligned<uint>(ref start));
            case 8:
                return Mix(seed ^ Unsafe.ReadUnaligned<ulong>(ref start));
            default:
                ulong h = seed ^ (ulong)key.Length;
                int at = 0;
                for (; at + 8 <= key.Length; at += 8)
                {
                    h = Fold(h ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, at)));
                }

                if (at < key.Length)
                {
                    ulong tail = 0;
                    key[at..].CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref tail)));
                    h = Fold(h ^ tail);
                }

                return Mix(h);
        }
    }

    /// <summary>
    /// The slot holding <paramref name="key"/>, -1 when absent, or <see cref="Contended"/> when writers changed the
    /// index during every try. Takes no lock.
    /// </summary>
    public int Find(ReadOnlySpan<byte> key, uint hash) => TryFind(key, hash, ref Unsafe.NullRef<int>(), newestOnly: false);

    /// <summary>
    /// <see cref="Find(ReadOnlySpan{byte}, uint)"/> for a lookup that may skip the lock only when its entry is already
    /// the most recently used (an LRU map's): -1 when absent, the slot when it holds <paramref name="key"/> and
    /// <paramref name="newest"/> (the map's most recent slot, written under its lock) names it, read inside the same
    /// try (so that at one moment the slot held the key and was the newest), else <see cref="Contended"/>. Takes no lock.
    /// </summary>
    public int FindNewest(ReadOnlySpan<byte> key, uint hash, ref int newest) => TryFind(key, hash, ref newest, newestOnly: true);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int TryFind(ReadOnlySpan<byte> key, uint hash, ref int newest, bool newestOnly)
    {
        for (int attempt = 0; attempt < Tries; attempt++)
        {
            int before = Volatile.Read(ref sequence[0]);
            if ((before & 1) == 0)
            {
                int slot = Walk(key, hash);
                if (newestOnly && slot >= 0 && Volatile.Read(ref newest) != slot)
                {
                    return Contended;
                }

                Volatile.ReadBarrier();
                if (Volatile.Read(ref sequence[0]) == before)
                {
                    return slot;
                }
            }

            Thread.SpinWait(1 << attempt);
        }

        return Contended;
    }

    /// <summary>
    /// Where the index lives, for an engine that walks it in machine code as <see cref="Find"/> does (see
    /// <see cref="Helpers.HashLookupLayout"/>), with the map's live-entries word and the value address of slot 0
    /// (<paramref name="values"/>, slots <paramref name="slotStride"/> bytes apart) and, for a lookup that may skip the
    /// lock only when its entry is the most recently used (<see cref="FindNewest"/>), the pinned word that names that
    /// slot (<paramref name="newest"/>, else 0): null unless keys are 4 or 8 bytes (hashed as one word). The addresses
    /// stay valid while this index is reachable (pinned arrays, see the remarks).
    /// </summary>
    public Helpers.HashLookupLayout? Layout(nint liveEntries, nint values, long slotStride, nint newest) =>
        keySize is 4 or 8
            ? new Helpers.HashLookupLayout
            {
                KeySize = keySize,
                Seed = seed,
                Buckets = Address(buckets),
                BucketMask = mask,
                Next = Address(next),
                Hashes = Address(hashes),
                Keys = Address(keys),
                Capacity = next.Length,
                Sequence = Address(sequence),
                LiveEntries = liveEntries,
                Values = values,
                SlotStride = slotStride,
                Newest = newest,
            }
            : null;

    /// <summary>The address of the first element of a pinned array.</summary>
    private static unsafe nint Address<T>(T[] array)
        where T : unmanaged => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));

    /// <summary>The slot holding <paramref name="key"/>, or -1. Only under the map's lock (no writer runs).</summary>
    public int FindLocked(ReadOnlySpan<byte> key, uint hash) => Walk(key, hash);

    /// <summary>Starts a change: lookups that overlap it try again.</summary>
    public void BeginWrite() => Interlocked.Increment(ref sequence[0]);

    /// <summary>Ends a change started by <see cref="BeginWrite"/>.</summary>
    public void EndWrite() => Volatile.Write(ref sequence[0], sequence[0] + 1);

    /// <summary>Links <paramref name="slot"/> (free) as holding <paramref name="key"/>. Under the lock, inside a write.</summary>
    public void Insert(int slot, ReadOnlySpan<byte> key, uint hash)
    {
        var stored = MemoryMarshal.AsBytes(keys.AsSpan(slot * keyWords, keyWords));
        key.CopyTo(stored);
        stored[keySize..].Clear();
        hashes[slot] = hash;
        ref int head = ref buckets[hash & mask];
        next[slot] = head;
        head = slot + 1;
    }

    /// <summary>Unlinks <paramref name="slot"/>. Under the lock, inside a write.</summary>
    public void Remove(int slot)
    {
        ref int link = ref buckets[hashes[slot] & mask];
        while (link != slot + 1)
        {
            link = ref next[link - 1];
        }

        link = next[slot];
        next[slot] = 0;
    }

    /// <summary>A copy of the key of linked slot <paramref name="slot"/>.</summary>
    public byte[] KeyOf(int slot) => MemoryMarshal.AsBytes(keys.AsSpan(slot * keyWords, keyWords))[..keySize].ToArray();

    private int Walk(ReadOnlySpan<byte> key, uint hash)
    {
        int capacity = next.Length;
        int link = buckets[hash & mask];
        for (int steps = 0; link != 0 && steps < capacity; steps++)
        {
            int slot = link - 1;
            if ((uint)slot >= (uint)capacity)
            {
                return -1;
            }

            if (hashes[slot] == hash && KeyEquals(slot, key))
            {
                return slot;
            }

            link = next[slot];
        }

        return -1;
    }

    private bool KeyEquals(int slot, ReadOnlySpan<byte> key)
    {
        ref byte probe = ref MemoryMarshal.GetReference(key);
        ref ulong stored = ref keys[slot * keyWords];
        return keySize switch
        {
            4 => (uint)stored == Unsafe.ReadUnaligned<uint>(ref probe),
            8 => stored == Unsafe.ReadUnaligned<ulong>(ref probe),
            16 => stored == Unsafe.ReadUnaligned<ulong>(ref probe) && Unsafe.Add(ref stored, 1) == Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref probe, 8)),
            _ => MemoryMarshal.AsBytes(keys.AsSpan(slot * keyWords, keyWords))[..keySize].SequenceEqual(key),
        };
    }

    /// <summary>One round of mixing a key word into the running hash (multiply and fold).</summary>
    private static ulong Fold(ulong h)
    {
        h *= 0x9E37_79B9_7F4A_7C15;
        return h ^ (h >> 29);
    }

    /// <summary>The final avalanche (a bijection on 64 bits), folded to 32: the layout's, which engines compute in their code too.</summary>
    private static uint Mix(ulong h) => Helpers.HashLookupLayout.Mix(h);
}
