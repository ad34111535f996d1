using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;
using Ebpf.Tests.X64;
using Ebpf.X64;
using static Ebpf.Tests.Engines.TestPrograms;

namespace Ebpf.Tests.Maps;

/// <summary>
/// The hash-map lookup x64 and il walk in their own code (see <see cref="HashLookupLayout"/>: x64's machine code, il's
/// <see cref="HashLookupLayout.Walk"/> inlined with the layout's constants), against an index built by hand
/// in the layout's documented form: the slot's value address when the walk finds the key, 0 when it does not, and the
/// map's own lookup (<see cref="DirectLookup.Find"/>, which here answers with an address of its own) whenever the
/// index's protocol forbids trusting the walk: a sequence that is odd before the walk or moves during it. A torn index
/// (a cycle, a link out of range) ends the walk. The hash is computed here from the layout's documentation.
/// </summary>
public class HashLookupInCodeTests
{
    private const uint Key = 0x1234_5678;
    private const ulong WideKey = 0xFFFF_FFFF_8765_4321; // the sign extension of stdw's immediate 0x87654321

    /// <summary>r0 = lookup(map 0, &amp;key) itself (the address, not the value): the call is at pc 5.</summary>
    private static EbpfProgram AddressOf(bool wide) => Program(
        wide ? I(OpCodes.StDW, 10, 0, -8, unchecked((int)(uint)WideKey)) : I(OpCodes.StW, 10, 0, -4, unchecked((int)Key)),
        I(OpCodes.Mov64Reg, 2, 10),
        I(OpCodes.Add64Imm, 2, 0, 0, wide ? -8 : -4),
        MapLookupPrograms.LoadMap,
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.Exit));

    /// <summary>The index's hash of a key word, written from <see cref="HashLookupLayout"/>'s remarks.</summary>
    private static uint Hash(ulong seed, ulong key)
    {
        ulong h = seed ^ key;
        h ^= h >> 33;
        h *= 0xFF51_AFD7_ED55_8CCD;
        h ^= h >> 33;
        h *= 0xC4CE_B9FE_1A85_EC53;
        h ^= h >> 33;
        return (uint)h ^ (uint)(h >> 32);
    }

    /// <summary>The engines that walk the index in their code.</summary>
    public static TheoryData<string> WalkingEngines() => ["x64", "il"];

    /// <summary>Whether <paramref name="engine"/> runs on this machine (x64 only on x86-64).</summary>
    private static bool Supported(string engine) => engine != "x64" || X64Platform.Supported;

    /// <summary>Compiles <paramref name="program"/> on <paramref name="engine"/> with a lookup helper whose direct lookup is <paramref name="index"/>.</summary>
    private static ICompiledProgram Compile(string engine, EbpfProgram program, HandIndex index, ExecutionOptions? options = null)
    {
        var environment = new ProgramEnvironment();
        environment.Helpers.Set(new Helper(LinuxHelperIds.MapLookupElem, "bpf_map_lookup_elem", (_, _, _, _, _, _) => 0xBAD)
        {
            DirectLookup = (_, _) => index,
        });
        environment.AddMap(new HashMap("h", (uint)index.KeySize, 8, 4));
        return TestEngines.Get(engine).Compile(program, environment, options);
    }

    /// <summary>The defaults, memory checks off, helper argument checks off.</summary>
    private static IEnumerable<ExecutionOptions> WalkingOptions() =>
        [new ExecutionOptions(), new ExecutionOptions { MemoryChecks = false }, new ExecutionOptions { HelperArgumentChecks = false }];

    /// <summary>r0 = lookup(map 0, r1): the key is the input's first bytes (the call is at pc 3).</summary>
    private static readonly EbpfProgram InputAddressOf = Program(
        I(OpCodes.Mov64Reg, 2, 1),
        MapLookupPrograms.LoadMap,
        I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
        I(OpCodes.Exit));

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public void A_key_at_the_end_of_a_chain_is_found_past_a_slot_with_the_same_hash_and_another_key(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        foreach (bool wide in new[] { false, true })
        {
            using var index = new HandIndex(wide ? 8 : 4, capacity: 8);
            ulong key = wide ? WideKey : Key;
            uint hash = Hash(index.Seed, key);

            // Bucket -> slot 6 (same hash, another key) -> slot 3 (the key).
            index.Link(hash, [6, 3], [key ^ 1, key], [hash, hash]);
            foreach (var options in WalkingOptions())
            {
                using var compiled = Compile(engine, AddressOf(wide), index, options);
                Assert.Equal(index.ValueAddress(3), compiled.Run(new byte[8]));
                Assert.Equal(0, index.FindCalls);
            }
        }
    }

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public void A_key_absent_from_its_chain_gives_null_without_the_maps_lookup(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        using var index = new HandIndex(4, capacity: 8);
        uint hash = Hash(index.Seed, Key);

        // The chain holds another key with the same hash, and a slot with the key's bytes but another hash.
        index.Link(hash, [2, 5], [Key + 1, Key], [hash, hash ^ 0x8000_0000]);
        using var compiled = Compile(engine, AddressOf(false), index);
        Assert.Equal(0UL, compiled.Run(new byte[8]));
        Assert.Equal(0, index.FindCalls);
    }

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public void An_odd_sequence_leaves_the_lookup_to_the_maps_own_lookup(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        using var index = new HandIndex(4, capacity: 8);
        uint hash = Hash(index.Seed, Key);
        index.Link(hash, [1], [Key], [hash]);
        foreach (var options in WalkingOptions())
        {
            using var compiled = Compile(engine, AddressOf(false), index, options);
            index.Sequence = 7;
            int before = index.FindCalls;
            Assert.Equal(index.FallbackAddress, compiled.Run(new byte[8]));
            Assert.Equal(before + 1, index.FindCalls);

            index.Sequence = 8;
            Assert.Equal(index.ValueAddress(1), compiled.Run(new byte[8]));
            Assert.Equal(before + 1, index.FindCalls);
        }
    }

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public void A_disposed_map_finds_nothing(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        using var index = new HandIndex(4, capacity: 8);
        uint hash = Hash(index.Seed, Key);
        index.Link(hash, [1], [Key], [hash]);
        using var compiled = Compile(engine, AddressOf(false), index);
        Assert.Equal(index.ValueAddress(1), compiled.Run(new byte[8]));
        index.Live = 0;
        Assert.Equal(0UL, compiled.Run(new byte[8]));
        Assert.Equal(0, index.FindCalls);
    }

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public void A_torn_index_ends_the_walk_with_null(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        using var index = new HandIndex(4, capacity: 8);
        uint hash = Hash(index.Seed, Key);
        using var compiled = Compile(engine, AddressOf(false), index);

        // A cycle of two slots, neither holding the key: the walk stops after the capacity's number of links.
        index.Link(hash, [4, 2], [Key + 1, Key + 2], [hash, hash]);
        index.SetNext(2, 5);
        Assert.Equal(0UL, compiled.Run(new byte[8]));

        // Links beyond the slots (as a walk racing with a writer may read): nothing is read there.
        foreach (int link in new[] { 9, 1000, int.MinValue, -1 })
        {
            index.SetBucket(hash, link);
            Assert.Equal(0UL, compiled.Run(new byte[8]));
        }

        Assert.Equal(0, index.FindCalls);
    }

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public async Task A_sequence_that_moves_during_the_walk_leaves_the_lookup_to_the_maps_own_lookup(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        using var index = LongChain();
        using var compiled = Compile(engine, AddressOf(false), index);
        Assert.Equal(index.ValueAddress(0), compiled.Run(new byte[8]));

        // The writer moves the sequence by two (it stays even): only the second read of a walk can see it.
        var (fallbacks, _, runs) = await WalkDuring(compiled, index, () => index.Sequence += 2, needFound: false);
        Assert.True(fallbacks > 0, $"no walk of {runs} saw the sequence move");
        Assert.Equal(fallbacks, index.FindCalls);
    }

    /// <summary>A 64-slot chain whose last slot (0) holds <see cref="Key"/>, so that a writer's steps fall inside walks; slot 0 is the newest.</summary>
    private static HandIndex LongChain(bool lru = false)
    {
        const int capacity = 64;
        var index = new HandIndex(4, capacity, lru);
        uint hash = Hash(index.Seed, Key);
        int[] slots = [.. Enumerable.Range(1, capacity - 1).Reverse(), 0];
        index.Link(hash, slots, [.. slots.Select(s => (ulong)(s == 0 ? Key : Key + (uint)s))], [.. slots.Select(_ => hash)]);
        index.Newest = 0;
        return index;
    }

    /// <summary>
    /// Runs <paramref name="compiled"/> (the lookup of <see cref="Key"/> in <see cref="LongChain"/>) while another thread
    /// repeats <paramref name="step"/>, until a run fell back to the map's lookup and, with <paramref name="needFound"/>,
    /// one found the key in the code (or 30 s passed); every answer must be the key's value or the fallback's.
    /// </summary>
    private static async Task<(int Fallbacks, int Found, int Runs)> WalkDuring(ICompiledProgram compiled, HandIndex index, Action step, bool needFound)
    {
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                step();
            }
        });

        int fallbacks = 0, found = 0, runs = 0;
        try
        {
            for (var deadline = DateTime.UtcNow.AddSeconds(30); (fallbacks == 0 || (needFound && found == 0)) && DateTime.UtcNow < deadline; runs++)
            {
                ulong r0 = compiled.Run(new byte[8]);
                if (r0 == index.FallbackAddress)
                {
                    fallbacks++;
                }
                else
                {
                    Assert.Equal(index.ValueAddress(0), r0);
                    found++;
                }
            }
        }
        finally
        {
            stop.Cancel();
            await writer;
        }

        return (fallbacks, found, runs);
    }

    [Fact]
    public void X64_without_memory_checks_walks_only_a_key_in_the_entry_frame_is_walked_and_any_other_goes_to_the_call()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        using var index = new HandIndex(4, capacity: 8);
        uint hash = Hash(index.Seed, Key);
        index.Link(hash, [1], [Key], [hash]);
        byte[] input = BitConverter.GetBytes(Key);

        // With memory checks the shared check covers the input: walked.
        using (var checkedCode = Compile("x64", InputAddressOf, index))
        {
            Assert.Equal(index.ValueAddress(1), checkedCode.Run(input));
            Assert.Equal(0, index.FindCalls);
        }

        // Without them the key in the input goes to the call, whose host side checks it and calls Find.
        using var uncheckedCode = Compile("x64", InputAddressOf, index, new ExecutionOptions { MemoryChecks = false });
        Assert.Equal(index.FallbackAddress, uncheckedCode.Run(input));
        Assert.Equal(1, index.FindCalls);

        // ... and with helper argument checks off too, nothing is checked: walked.
        using var bare = Compile("x64", InputAddressOf, index, new ExecutionOptions { MemoryChecks = false, HelperArgumentChecks = false });
        Assert.Equal(index.ValueAddress(1), bare.Run(input));
        Assert.Equal(1, index.FindCalls);
    }

    [Fact]
    public void Il_checks_a_key_outside_the_current_frame_as_the_helper_does_and_walks_it_with_memory_checks_on_or_off()
    {
        using var index = new HandIndex(4, capacity: 8);
        uint hash = Hash(index.Seed, Key);
        index.Link(hash, [1], [Key], [hash]);
        byte[] input = BitConverter.GetBytes(Key);
        foreach (var options in WalkingOptions())
        {
            // The key in the input: checked (when the helper's checks are on) and walked, whatever the memory checks.
            using var compiled = Compile("il", InputAddressOf, index, options);
            Assert.Equal(index.ValueAddress(1), compiled.Run(input));

            // Two of the key's four bytes outside the input: the helper's error at the call, not a walk.
            if (options.HelperArgumentChecks)
            {
                var error = Assert.Throws<EbpfMemoryAccessException>(() => compiled.Run(input.AsSpan(0, 2).ToArray()));
                Assert.Equal(3, error.Pc);
            }
        }

        Assert.Equal(0, index.FindCalls);
    }

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public void An_lru_walk_finds_the_most_recently_used_entry_in_the_code_and_leaves_any_other_to_the_maps_lookup(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        foreach (bool wide in new[] { false, true })
        {
            using var index = new HandIndex(wide ? 8 : 4, capacity: 8, lru: true);
            ulong key = wide ? WideKey : Key;
            uint hash = Hash(index.Seed, key);

            // Bucket -> slot 6 (same hash, another key) -> slot 3 (the key).
            index.Link(hash, [6, 3], [key ^ 1, key], [hash, hash]);
            foreach (var options in WalkingOptions())
            {
                using var compiled = Compile(engine, AddressOf(wide), index, options);
                int calls = index.FindCalls;

                // The key's entry is the newest: found in the code, no order to change.
                index.Newest = 3;
                Assert.Equal(index.ValueAddress(3), compiled.Run(new byte[8]));
                Assert.Equal(calls, index.FindCalls);

                // Another entry is the newest (or none is): the lookup, which moves the entry, is the map's.
                foreach (int other in new[] { 6, 0, -1, 7 })
                {
                    index.Newest = other;
                    Assert.Equal(index.FallbackAddress, compiled.Run(new byte[8]));
                    Assert.Equal(++calls, index.FindCalls);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public void An_lru_miss_gives_null_in_the_code_whatever_entry_is_the_newest(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        using var index = new HandIndex(4, capacity: 8, lru: true);
        uint hash = Hash(index.Seed, Key);

        // The chain holds another key with the same hash, and a slot with the key's bytes but another hash.
        index.Link(hash, [2, 5], [Key + 1, Key], [hash, hash ^ 0x8000_0000]);
        using var compiled = Compile(engine, AddressOf(false), index);
        foreach (int newest in new[] { -1, 2, 5 })
        {
            index.Newest = newest;
            Assert.Equal(0UL, compiled.Run(new byte[8]));
        }

        // An empty bucket.
        index.SetBucket(hash, 0);
        Assert.Equal(0UL, compiled.Run(new byte[8]));
        Assert.Equal(0, index.FindCalls);
    }

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public void A_deleted_newest_entry_whose_slot_another_key_took_is_not_found_in_an_lru_walk(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        using var index = new HandIndex(4, capacity: 8, lru: true);
        uint hash = Hash(index.Seed, Key);
        index.Link(hash, [4], [Key], [hash]);
        index.Newest = 4;
        using var compiled = Compile(engine, AddressOf(false), index);
        Assert.Equal(index.ValueAddress(4), compiled.Run(new byte[8]));

        // The key's entry was deleted and slot 4, still the newest, now holds another key of another bucket; the key's
        // bucket is empty, or (a stale link) still leads to slot 4.
        uint otherHash = Hash(index.Seed, Key + 9);
        index.Link(otherHash, [4], [Key + 9], [otherHash]);
        if ((otherHash & 15) != (hash & 15))
        {
            Assert.Equal(0UL, compiled.Run(new byte[8]));
        }

        index.SetBucket(hash, 4 + 1);
        Assert.Equal(0UL, compiled.Run(new byte[8]));
        Assert.Equal(0, index.FindCalls);
    }

    [Theory]
    [MemberData(nameof(WalkingEngines))]
    public async Task An_lru_walk_overlapped_by_a_writer_or_by_a_change_of_the_newest_entry_never_takes_an_older_entry(string engine)
    {
        if (!Supported(engine))
        {
            return;
        }

        using var index = LongChain(lru: true);
        using var compiled = Compile(engine, AddressOf(false), index);
        Assert.Equal(index.ValueAddress(0), compiled.Run(new byte[8]));

        // Either the sequence moves by two (it stays even: only the second read of a walk can see it) while the key's
        // entry stays the newest, or the newest entry changes back and forth (as lookups of other keys under the map's
        // lock do) without a change of the index.
        Action[] writers =
        [
            () => index.Sequence += 2,
            () =>
            {
                index.Newest = 5;
                index.Newest = 0;
            },
        ];
        foreach (var step in writers)
        {
            int before = index.FindCalls;
            var (fallbacks, found, runs) = await WalkDuring(compiled, index, step, needFound: true);
            Assert.True(fallbacks > 0 && found > 0, $"{runs} walks: {fallbacks} fallbacks, {found} found in the code");
            Assert.Equal(before + fallbacks, index.FindCalls);
            index.Newest = 0;
        }
    }

    [Theory]
    [InlineData("x64", BpfMapType.LruHash)]
    [InlineData("x64", BpfMapType.LruPerCpuHash)]
    [InlineData("il", BpfMapType.LruHash)]
    [InlineData("il", BpfMapType.LruPerCpuHash)]
    public void Lookups_in_a_real_lru_map_keep_its_order_exactly(string engine, BpfMapType type)
    {
        if (!Supported(engine))
        {
            return;
        }

        using var map = new HashMap(new MapDefinition("lru", type, 4, 8, 3) { PossibleCpus = 2 });
        var environment = LinuxHelpers.Register(new ProgramEnvironment(), new LinuxHelperOptions { ProcessorId = 1 });
        environment.AddMap(map);
        foreach (uint k in new uint[] { 1, 2, 3 })
        {
            var value = new byte[map.HostValueSize];
            for (int c = 0; c < map.Cpus; c++)
            {
                BitConverter.TryWriteBytes(value.AsSpan(c * 8), (k * 10) + (ulong)c);
            }

            Assert.Equal(MapStatus.Success, map.Update(BitConverter.GetBytes(k), value));
        }

        ulong cpu = type == BpfMapType.LruPerCpuHash ? 1UL : 0UL;
        foreach (var options in WalkingOptions())
        {
            using var compiled = TestEngines.Get(engine).Compile(MapLookupPrograms.StackKey, environment, options);
            uint[] Ages() => [.. map.KeysByAge().Select(k => BitConverter.ToUInt32(k))];
            ulong Lookup(uint key) => compiled.Run(BitConverter.GetBytes(key));

            uint newest = Ages()[^1];
            Assert.Equal((newest * 10) + cpu, Lookup(newest));           // the newest: no change
            Assert.Equal(MapLookupPrograms.Missing, Lookup(7));          // a miss: no change
            uint[] before = Ages();
            Assert.Equal(newest, before[^1]);
            Assert.Equal((before[0] * 10) + cpu, Lookup(before[0]));    // the oldest becomes the newest
            Assert.Equal([before[1], before[2], before[0]], Ages());
            Assert.Equal((before[1] * 10) + cpu, Lookup(before[1]));    // and so does the next oldest
            Assert.Equal([before[2], before[0], before[1]], Ages());
        }

        // The newest entry deleted and its slot taken by a new key (the newest now): the deleted key is not found.
        uint last = map.KeysByAge().Select(k => BitConverter.ToUInt32(k)).Last();
        using var program = TestEngines.Get(engine).Compile(MapLookupPrograms.StackKey, environment);
        Assert.Equal(MapStatus.Success, map.Delete(BitConverter.GetBytes(last)));
        Assert.Equal(MapStatus.Success, map.Update(BitConverter.GetBytes(9u), new byte[map.HostValueSize]));
        Assert.Equal(9u, map.KeysByAge().Select(k => BitConverter.ToUInt32(k)).Last());
        Assert.Equal(MapLookupPrograms.Missing, program.Run(BitConverter.GetBytes(last)));
        Assert.Equal(0UL, program.Run(BitConverter.GetBytes(9u)));
    }

    [Fact]
    public void The_listing_walks_the_index_in_the_code()
    {
        if (!X64Platform.Supported)
        {
            return;
        }

        using var index = new HandIndex(4, capacity: 8);
        using var compiled = (X64CompiledProgram)Compile("x64", AddressOf(false), index);

        // The hash's two multipliers are immediates of the code, with memory checks and without.
        string listing = compiled.GetListing();
        Assert.Contains("0FF51AFD7ED558CCDh", listing, StringComparison.Ordinal);
        Assert.Contains("0C4CEB9FE1A85EC53h", listing, StringComparison.Ordinal);
        using var uncheckedCode = (X64CompiledProgram)Compile("x64", AddressOf(false), index, new ExecutionOptions { MemoryChecks = false });
        Assert.Contains("0FF51AFD7ED558CCDh", uncheckedCode.GetListing(), StringComparison.Ordinal);

        // An LRU map's lookup is walked too; a lookup helper without a layout (a map with 16-byte keys) is called.
        using var lru = new HashMap(new MapDefinition("lru", BpfMapType.LruHash, 4, 8, 4));
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(lru);
        using var walked = (X64CompiledProgram)new X64Engine().Compile(AddressOf(false), environment);
        Assert.Contains("0FF51AFD7ED558CCDh", walked.GetListing(), StringComparison.Ordinal);
        using var wide = new HashMap(new MapDefinition("wide", BpfMapType.LruHash, 16, 8, 4));
        var wideEnvironment = LinuxHelpers.Register(new ProgramEnvironment());
        wideEnvironment.AddMap(wide);
        var wideKey = Program(
            I(OpCodes.StDW, 10, 0, -16, 1),
            I(OpCodes.StDW, 10, 0, -8, 2),
            I(OpCodes.Mov64Reg, 2, 10),
            I(OpCodes.Add64Imm, 2, 0, 0, -16),
            MapLookupPrograms.LoadMap,
            I(OpCodes.Call, 0, 0, 0, (int)LinuxHelperIds.MapLookupElem),
            I(OpCodes.Exit));
        using var called = (X64CompiledProgram)new X64Engine().Compile(wideKey, wideEnvironment);
        Assert.DoesNotContain("0FF51AFD7ED558CCDh", called.GetListing(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A key index in <see cref="HashLookupLayout"/>'s form, built by the test (16 buckets, keys of 4 or 8 bytes, values
    /// 24 bytes apart), whose <see cref="Find"/> counts its calls and answers with <see cref="FallbackAddress"/> for the
    /// key it is asked about.
    /// </summary>
    private sealed unsafe class HandIndex : DirectLookup, IDisposable
    {
        private const int Stride = 24;
        private readonly int[] buckets = GC.AllocateArray<int>(16, pinned: true);
        private readonly int[] next;
        private readonly uint[] hashes;
        private readonly ulong[] keys;
        private readonly int[] sequence = GC.AllocateArray<int>(1, pinned: true);
        private readonly ulong[] live = GC.AllocateArray<ulong>(1, pinned: true);
        private readonly int[] newest = GC.AllocateArray<int>(1, pinned: true);
        private readonly bool lru;
        private readonly byte* values;
        private readonly ulong* fallback;
        private int findCalls;

        public HandIndex(int keySize, int capacity, bool lru = false)
            : base(keySize)
        {
            this.lru = lru;
            newest[0] = -1;
            next = GC.AllocateArray<int>(capacity, pinned: true);
            hashes = GC.AllocateArray<uint>(capacity, pinned: true);
            keys = GC.AllocateArray<ulong>(capacity, pinned: true);
            values = (byte*)NativeMemory.AllocZeroed((nuint)(capacity * Stride));
            fallback = (ulong*)NativeMemory.AllocZeroed(8);
            live[0] = (ulong)capacity;
            Seed = 0x5EED_0123_4567_89AB;
        }

        public ulong Seed { get; }

        public int FindCalls => Volatile.Read(ref findCalls);

        public ulong FallbackAddress => (ulong)fallback;

        public int Sequence
        {
            get => Volatile.Read(ref sequence[0]);
            set => Volatile.Write(ref sequence[0], value);
        }

        public ulong Live
        {
            set => live[0] = value;
        }

        /// <summary>The LRU map's most recently used slot (with <c>lru</c>: the layout names this word).</summary>
        public int Newest
        {
            get => Volatile.Read(ref newest[0]);
            set => Volatile.Write(ref newest[0], value);
        }

        public override HashLookupLayout Layout => new()
        {
            KeySize = KeySize,
            Seed = Seed,
            Buckets = Address(buckets),
            BucketMask = (uint)buckets.Length - 1,
            Next = Address(next),
            Hashes = Address(hashes),
            Keys = Address(keys),
            Capacity = next.Length,
            Sequence = Address(sequence),
            LiveEntries = Address(live),
            Values = (nint)values,
            SlotStride = Stride,
            Newest = lru ? Address(newest) : 0,
        };

        public ulong ValueAddress(int slot) => (ulong)(values + (slot * Stride));

        /// <summary>Makes the bucket of <paramref name="hash"/> a chain of <paramref name="slots"/> with these keys and hashes.</summary>
        public void Link(uint hash, int[] slots, ulong[] chainKeys, uint[] chainHashes)
        {
            Array.Clear(buckets);
            Array.Clear(next);
            for (int i = 0; i < slots.Length; i++)
            {
                keys[slots[i]] = chainKeys[i];
                hashes[slots[i]] = chainHashes[i];
                next[slots[i]] = i + 1 < slots.Length ? slots[i + 1] + 1 : 0;
            }

            SetBucket(hash, slots[0] + 1);
        }

        public void SetBucket(uint hash, int link) => buckets[hash & (uint)(buckets.Length - 1)] = link;

        public void SetNext(int slot, int link) => next[slot] = link;

        public override ulong Find(ReadOnlySpan<byte> key)
        {
            Interlocked.Increment(ref findCalls);
            return key.Length == KeySize ? (ulong)fallback : 0;
        }

        public void Dispose()
        {
            NativeMemory.Free(values);
            NativeMemory.Free(fallback);
        }

        private static nint Address<T>(T[] array)
            where T : unmanaged => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
    }
}
