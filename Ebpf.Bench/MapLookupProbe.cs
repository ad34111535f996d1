using System.Globalization;
using Ebpf.Assembly;
using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Verification;

namespace Ebpf.Bench;

/// <summary>
/// <c>--map-lookup</c>: where the time of a program's <c>bpf_map_lookup_elem</c> goes. First the pieces one by one on
/// the host (fastest of many batches, as <see cref="RunFloorProbe"/>): finding the map from the program's handle, the
/// hash map's lookup as it is now, and the pieces of the lookup it replaced (a <c>lock</c>, hashing the key bytes with
/// <see cref="HashCode.AddBytes"/>, a <see cref="Dictionary{TKey, TValue}"/> probe by span); then, on every engine
/// with memory checks on, the time per call of a 100-call loop calling a trivial rbpf-style helper, looking up a present
/// key of a hash map (u32 to u64, 512 entries) and of an array map.
/// </summary>
internal static class MapLookupProbe
{
    private const int Calls = 100;
    private const int Entries = 512;

    /// <summary>A loop of 100 lookups of key 5 in map 0 that counts the hits (100 when the key is present).</summary>
    private const string LookupLoop =
        "mov r6, 100\nmov r7, 0\nstw [r10-4], 5\nmov r2, r10\nadd r2, -4\nlddw r1, map_by_idx 0\ncall 1\n" +
        "jeq r0, 0, +1\nadd r7, 1\nsub r6, 1\njne r6, 0, -10\nmov r0, r7\nexit";

    /// <summary>A loop of 100 calls of helper 1 (a trivial rbpf-style helper) that sums its results.</summary>
    private const string HelperLoop = "mov r6, 100\nmov r7, 0\nmov r1, r6\ncall 1\nadd r7, r0\nsub r6, 1\njne r6, 0, -5\nmov r0, r7\nexit";

    public static void Report(TextWriter output)
    {
        output.WriteLine("ns per call: fastest of many batches (memory checks on)");
        using var hash = Filled(new HashMap("h", 4, 8, 1024));
        using var array = Filled(new ArrayMap("a", 8, 1024));
        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(hash);
        byte[] key = BitConverter.GetBytes(5u);

        var old = new Dictionary<byte[], int>(ByteKeyComparer.Instance);
        for (uint k = 0; k < Entries; k++)
        {
            old.Add(BitConverter.GetBytes(k), (int)k);
        }

        Line(output, "host", "registry", RunFloorProbe.Measure(new RegistryStep(environment, MapRegistry.HandleOf(0))));
        Line(output, "host", "hash-map", RunFloorProbe.Measure(new MapStep(hash, key)));
        Line(output, "host", "array-map", RunFloorProbe.Measure(new MapStep(array, key)));
        Line(output, "host", "old:lock", RunFloorProbe.Measure(new LockStep(new object())));
        Line(output, "host", "old:hash-bytes", RunFloorProbe.Measure(new HashBytesStep(key)));
        Line(output, "host", "old:dictionary", RunFloorProbe.Measure(new DictionaryStep(old.GetAlternateLookup<ReadOnlySpan<byte>>(), key)));

        foreach (var configuration in BenchEngines.Configurations.Where(c => c.Options.MemoryChecks && BenchSelection.IncludesEngine(c.Label)))
        {
            using var helper = Compile(configuration, HelperLoop, null);
            Line(output, configuration.Label, "helper", RunFloorProbe.Measure(new ProgramStep(helper, 5150)) / Calls);
            using var hashLookups = Compile(configuration, LookupLoop, hash);
            Line(output, configuration.Label, "lookup-hash", RunFloorProbe.Measure(new ProgramStep(hashLookups, Calls)) / Calls);
            using var arrayLookups = Compile(configuration, LookupLoop, array);
            Line(output, configuration.Label, "lookup-array", RunFloorProbe.Measure(new ProgramStep(arrayLookups, Calls)) / Calls);
        }
    }

    private static T Filled<T>(T map)
        where T : BpfMap
    {
        for (uint k = 0; k < Entries; k++)
        {
            map.Update(k, (ulong)k * 3);
        }

        return map;
    }

    private static ICompiledProgram Compile(Workloads.EngineConfiguration configuration, string source, BpfMap? map)
    {
        var environment = new ProgramEnvironment();
        if (map is null)
        {
            environment.Helpers.Add(1, "plus_one", static (a, _, _, _, _) => a + 1);
        }
        else
        {
            LinuxHelpers.Register(environment);
            environment.AddMap(map);
        }

        var program = EbpfProgram.Create(Assembler.Assemble(source), Verifier.Default, "lookups");
        return configuration.Engine.Compile(program, environment, configuration.Options);
    }

    private static void Line(TextWriter output, string engine, string step, double ns) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{engine,-12} {step,-16} {ns,8:0.0}"));

    private readonly struct RegistryStep(ProgramEnvironment environment, ulong handle) : IFloorRun
    {
        public ulong Run() => (ulong)MapRegistry.Find(environment)!.FromHandle(handle)!.KeySize;
    }

    private readonly struct MapStep(BpfMap map, byte[] key) : IFloorRun
    {
        public ulong Run() => map.LookupValueAddress(key, 0);
    }

    private readonly struct LockStep(object gate) : IFloorRun
    {
        public ulong Run()
        {
            lock (gate)
            {
                return 1;
            }
        }
    }

    private readonly struct HashBytesStep(byte[] key) : IFloorRun
    {
        public ulong Run() => (ulong)ByteKeyComparer.Instance.GetHashCode((ReadOnlySpan<byte>)key);
    }

    private readonly struct DictionaryStep(Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> lookup, byte[] key) : IFloorRun
    {
        public ulong Run() => lookup.TryGetValue(key, out int slot) ? (ulong)slot : 0;
    }

    private readonly struct ProgramStep(ICompiledProgram program, ulong expected) : IFloorRun
    {
        private readonly byte[] input = new byte[16];

        public ulong Run()
        {
            ulong r0 = program.Run(input);
            return r0 == expected ? r0 : throw new InvalidOperationException($"the lookup loop returned {r0}, not {expected}");
        }
    }
}
