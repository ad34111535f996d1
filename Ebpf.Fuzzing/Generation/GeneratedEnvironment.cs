using Ebpf.Helpers;
using Ebpf.Isa;
using Ebpf.Maps;

namespace Ebpf.Fuzzing.Generation;

/// <summary>
/// The environment generated programs run in. The Linux helpers sit at their kernel ids (map lookup 1, update 2,
/// delete 3, tail call 12, ...), with five maps at fixed indices; the generator's own test helpers sit at
/// <see cref="MixHelper"/> and the ids after it, far from any kernel id. Programs may write to the maps only in ways
/// that leave them as they were (a value written back where it was read, updates of a map no program reads), so one
/// environment serves every engine and every thread of a campaign.
/// </summary>
public static class GeneratedEnvironment
{
    /// <summary>The map index of <c>values</c>: an array map of 4 entries of 16 fixed bytes (keys 4 and up miss).</summary>
    public const int ValuesMap = 0;

    /// <summary>The map index of <c>sink</c>: an array map of 4 entries of 8 bytes that programs update but never read.</summary>
    public const int SinkMap = 1;

    /// <summary>The map index of <c>tails</c>: the program array <c>bpf_tail_call</c> goes through (see <see cref="Create"/>).</summary>
    public const int TailsMap = 2;

    /// <summary>
    /// The map index of <c>hashed</c>: a hash map with the keys and values of <c>values</c> but key 1 (keys 1 and 4 and
    /// up miss), which x64 and il walk in their code (see <see cref="Helpers.HashLookupLayout"/>).
    /// </summary>
    public const int HashedMap = 3;

    /// <summary>
    /// The map index of <c>recent</c>: an LRU hash map with the keys and values of <c>values</c> but key 2, whose
    /// lookups also move the entry they find to the front (nothing is ever inserted, so the order changes no outcome).
    /// </summary>
    public const int RecentMap = 4;

    /// <summary>The maps a generated lookup reads (<see cref="ValuesMap"/>, <see cref="HashedMap"/>, <see cref="RecentMap"/>), by a choice of the generator.</summary>
    internal static int LookupMap(int choice) => ((choice & int.MaxValue) % 3) switch
    {
        0 => ValuesMap,
        1 => HashedMap,
        _ => RecentMap,
    };

    /// <summary>The value size of <c>values</c>.</summary>
    public const int ValueSize = 16;

    /// <summary>The entries of <c>values</c> (and of the other maps).</summary>
    public const int Entries = 4;

    /// <summary>The first test helper: <c>mix</c>, a pure function of r2-r5.</summary>
    public const int MixHelper = 0x1001;

    /// <summary><c>sum</c>: the sum of r2 &amp; 15 bytes at r1 (read through the run's regions).</summary>
    public const int SumHelper = MixHelper + 1;

    /// <summary><c>stop</c>: stops the run with r4 as its result when r3 &amp; 3 is 0, else returns r3 + 1.</summary>
    public const int StopHelper = MixHelper + 2;

    /// <summary><c>fail</c>: r2 / 2 for an even r2, a helper failure for an odd one.</summary>
    public const int FailHelper = MixHelper + 3;

    /// <summary>What the program at index 0 of <c>tails</c> returns.</summary>
    public const ulong TailResult = 0x7a11;

    /// <summary>
    /// Creates the environment. With <paramref name="tailCallEngine"/>, index 0 of <c>tails</c> holds a program
    /// returning <see cref="TailResult"/> and index 1 one that tail-calls itself until the kernel's limit, then
    /// returns <see cref="TailResult"/> + 1 (indices 2 and 3 stay empty); without it every tail call falls through.
    /// The compiled targets live as long as the environment.
    /// </summary>
    /// <param name="tailCallEngine">The engine that compiles the tail-call targets (any engine's targets serve every engine).</param>
    public static ProgramEnvironment Create(IExecutionEngine? tailCallEngine = null)
    {
        var environment = LinuxHelpers.Register(new ProgramEnvironment(), new LinuxHelperOptions { RandomSeed = 18, Clock = () => 0, ProcessorId = 0 });
        environment.Helpers.Add(MixHelper, "mix", (_, b, c, d, e) => (b * 0x9E3779B97F4A7C15UL) ^ (c + (3 * d)) ^ (e << 7));
        environment.Helpers.Add(SumHelper, "sum", (ContextHelperFunction)((context, a, b, _, _, _) =>
        {
            ulong sum = 0;
            foreach (byte x in context.GetMemory(a, b & 15, MemoryAccessKind.Read))
            {
                sum += x;
            }

            return sum;
        }));
        environment.Helpers.Add(StopHelper, "stop", (ContextHelperFunction)((context, _, _, c, d, _) =>
        {
            if ((c & 3) == 0)
            {
                context.Stop(d);
            }

            return c + 1;
        }));
        environment.Helpers.Add(FailHelper, "fail", (_, b, _, _, _) => (b & 1) == 0 ? b >> 1 : throw new InvalidOperationException("odd argument"));

        var values = new ArrayMap("values", ValueSize, Entries);
        for (uint key = 0; key < Entries; key++)
        {
            values.Update(key, new UInt128(0x0123456789abcdefUL * (key + 1), 0xfedcba9876543210UL ^ key));
        }

        var tails = new ProgramArrayMap("tails", Entries);
        var hashed = new HashMap(new MapDefinition("hashed", BpfMapType.Hash, 4, ValueSize, Entries));
        var recent = new HashMap(new MapDefinition("recent", BpfMapType.LruHash, 4, ValueSize, Entries));
        for (uint key = 0; key < Entries; key++)
        {
            Span<byte> value = values.GetValueSpan(key);
            if ((key != 1 && hashed.Update(BitConverter.GetBytes(key), value) != MapStatus.Success)
                || (key != 2 && recent.Update(BitConverter.GetBytes(key), value) != MapStatus.Success))
            {
                throw new InvalidOperationException("the generated environment's hash maps did not take their entries");
            }
        }

        if (environment.AddMap(values) != ValuesMap || environment.AddMap(new ArrayMap("sink", 8, Entries)) != SinkMap || environment.AddMap(tails) != TailsMap
            || environment.AddMap(hashed) != HashedMap || environment.AddMap(recent) != RecentMap)
        {
            throw new InvalidOperationException("the generated environment's maps did not get their fixed indices");
        }

        if (tailCallEngine is not null)
        {
            var options = GeneratedCases.OptionsFor(null);
            tails.Set(0, tailCallEngine.Compile(Target([new(OpCodes.Mov64Imm, 0, 0, 0, (int)TailResult), new(OpCodes.Exit, 0, 0, 0, 0)]), environment, options));
            tails.Set(1, tailCallEngine.Compile(Target([.. ProgramGenerator.TailCallSlots(1), new(OpCodes.Mov64Imm, 0, 0, 0, (int)TailResult + 1), new(OpCodes.Exit, 0, 0, 0, 0)]), environment, options));
        }

        return environment;
    }

    private static EbpfProgram Target(Instruction[] slots) => EbpfProgram.Create(slots, Verification.Verifier.FromDelegate(_ => null), "tail-target");
}
