namespace Ebpf.Bench.Workloads;

/// <summary>
/// Every workload of the benchmark suite. The expected results are the r0 values printed by the native reference
/// driver (<c>bench/native/run.sh</c>) for the same C code and inputs; the engines must reproduce them exactly.
/// </summary>
internal static class WorkloadCatalog
{
    /// <summary>All workloads, in report order.</summary>
    public static IReadOnlyList<Workload> All { get; } =
    [
        new RawWorkload("prime", "prime", 8, loopHeavy: true, expected: 669, WorkloadInputs.Prime,
            "count the primes below 5,000 by trial division"),
        new RawWorkload("memcpy", "memcpy", 8192, loopHeavy: true, expected: 4140, WorkloadInputs.Memcpy,
            "copy 4 KiB byte by byte"),
        new RawWorkload("strcmp_equal", "strcmp", 4096, loopHeavy: true, expected: 1048320, WorkloadInputs.StringsEqual,
            "compare two equal 2,047-byte strings"),
        new RawWorkload("strcmp_mismatch", "strcmp", 4096, loopHeavy: false, expected: 1793, WorkloadInputs.StringsMismatch,
            "compare two strings that differ at index 3"),
        new RawWorkload("log2", "log2", 8192, loopHeavy: true, expected: 31995, WorkloadInputs.Log2,
            "sum floor(log2) over 1,024 u64 values"),
        new RawWorkload("switch", "switch", 4096, loopHeavy: true, expected: 3267293729251870611, WorkloadInputs.Switch,
            "a 16-way switch over 4,096 random bytes"),
        new RawWorkload("straight", "straight", 32, loopHeavy: false, expected: 315845609832482477, WorkloadInputs.Straight,
            "four SipHash-style rounds, straight-line"),
        new RawWorkload("checksum", "checksum", 1500, loopHeavy: false, expected: 1203426222, WorkloadInputs.Checksum,
            "IPv4 header and TCP checksums of a 1,500-byte packet"),
        new RawWorkload("filter", "filter", 16384, loopHeavy: false, expected: 55, WorkloadInputs.Filter,
            "filter 256 Ethernet frames (VLAN, IPv4, TCP port, source net)"),
        new ElfMapWorkload("hashmap", "hashmap", 4096, loopHeavy: false, expected: 497664814, WorkloadInputs.HashMapKeys, WorkloadInputs.FillHashMap,
            "1,024 hash-map lookups (helper calls), half of them hits"),
    ];

    /// <summary>The workload with this name.</summary>
    public static Workload Get(string name) =>
        All.FirstOrDefault(w => w.Name == name) ?? throw new ArgumentException($"no workload named '{name}'", nameof(name));
}
