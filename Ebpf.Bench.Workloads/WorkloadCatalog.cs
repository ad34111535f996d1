namespace Ebpf.Bench.Workloads;

/// <summary>
/// Every workload of the benchmark suite, the short ones first. The expected results are the r0 values printed by the
/// native reference driver (<c>bench/native/run.sh</c>) for the same C code and inputs; the engines must reproduce
/// them exactly. The names, input lengths and order match the driver's table in <c>bench/native/inputs.c</c>.
/// </summary>
internal static class WorkloadCatalog
{
    private const int TwoMiB = 2 << 20;

    /// <summary>All workloads, in report order.</summary>
    public static IReadOnlyList<Workload> All { get; } =
    [
        new RawWorkload("constant", "constant", 8, expected: 42, WorkloadInputs.Zero,
            "return a constant (2 instructions): the cost of a run before the program's first instruction"),
        new RawWorkload("load_add", "load_add", 16, expected: 7108177815778741267, WorkloadInputs.LoadAdd,
            "two u64 loads and an add (4 instructions)"),
        new RawWorkload("straight", "straight", 32, expected: 315845609832482477, WorkloadInputs.Straight,
            "four SipHash-style rounds, straight-line"),
        new RawWorkload("strcmp_mismatch", "strcmp", 4096, expected: 1793, WorkloadInputs.StringsMismatch,
            "compare two strings that differ at index 3"),
        new RawWorkload("helper_calls", "helper_calls", 8, expected: 10704542856911483400, WorkloadInputs.Zero,
            "1,024 calls to a trivial helper (r0 = r1 * 3 + r2), each depending on the one before",
            WorkloadHelpers.TrivialEnvironment),
        new RawWorkload("memcpy", "memcpy", 8192, expected: 4140, WorkloadInputs.Memcpy,
            "copy 4 KiB byte by byte"),
        new RawWorkload("memcpy_1m", "memcpy", TwoMiB, expected: 1048777, WorkloadInputs.Memcpy,
            "copy 1 MiB byte by byte"),
        new RawWorkload("strcmp_equal", "strcmp", 4096, expected: 1048320, WorkloadInputs.StringsEqual,
            "compare two equal 2,047-byte strings"),
        new RawWorkload("strcmp_1m_early", "strcmp", TwoMiB, expected: 67109119, WorkloadInputs.StringsEarlyMismatch,
            "compare two 1 MiB strings that differ one eighth of the way in (index 131,072)"),
        new RawWorkload("strcmp_1m_equal", "strcmp", TwoMiB, expected: 536870656, WorkloadInputs.StringsEqual,
            "compare two equal 1 MiB strings (1,048,575 bytes each)"),
        new RawWorkload("log2", "log2", 8192, expected: 31995, WorkloadInputs.Log2,
            "sum floor(log2) over 1,024 u64 values (8 KiB)"),
        new RawWorkload("stack_array", "stack_array", 4096, expected: 12817181709028839590, WorkloadInputs.StackArray,
            "local functions over a 64-byte stack array indexed by a loop variable, 64 blocks of 64 bytes"),
        new RawWorkload("checksum", "checksum", 1500, expected: 1203426222, WorkloadInputs.Checksum,
            "IPv4 header and TCP checksums of a 1,500-byte packet"),
        new RawWorkload("filter", "filter", 16384, expected: 55, WorkloadInputs.Filter,
            "filter 256 Ethernet frames (VLAN, IPv4, TCP port, source net)"),
        new RawWorkload("switch", "switch", 4096, expected: 3267293729251870611, WorkloadInputs.Switch,
            "a 16-way switch over 4,096 random bytes"),
        new RawWorkload("prime", "prime", 8, expected: 669, WorkloadInputs.Prime,
            "count the primes below 5,000 by trial division"),
        new ElfMapWorkload("hashmap", "hashmap", 4096, expected: 497664814, WorkloadInputs.HashMapKeys, WorkloadInputs.FillHashMap,
            "1,024 hash-map lookups (helper calls), half of them hits"),
    ];

    /// <summary>The workload with this name.</summary>
    /// <exception cref="ArgumentException">No workload has this name.</exception>
    public static Workload Get(string name) =>
        All.FirstOrDefault(w => w.Name == name) ?? throw new ArgumentException($"no workload named '{name}'", nameof(name));
}
