using System.Buffers.Binary;
using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>Per-CPU arrays and hashes through the host API: one value per possible CPU, in the layout of Linux's bpf() syscall.</summary>
public class PerCpuMapTests
{
    private static MapDefinition Definition(BpfMapType type, int cpus, uint valueSize = 4, uint maxEntries = 4) =>
        new("pc", type, 4, valueSize, maxEntries) { PossibleCpus = cpus };

    [Fact]
    public void The_host_value_holds_every_cpus_value_each_padded_to_8_bytes()
    {
        using var map = new ArrayMap(Definition(BpfMapType.PerCpuArray, 3, valueSize: 4));
        Assert.Equal(3, map.Cpus);
        Assert.Equal(24, map.HostValueSize);
        byte[] all = Convert.FromHexString("0100000000000000" + "0200000000000000" + "0300000000000000");
        Assert.Equal(MapStatus.Success, map.Update(BitConverter.GetBytes(1u), all));
        Assert.Equal(all, map.Lookup(BitConverter.GetBytes(1u)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(map.GetValueSpan(1, 1)));

        // What a program on CPU 2 sees.
        ulong address = map.LookupValueAddress(BitConverter.GetBytes(1u), 2);
        Assert.True(map.ValueRegion.Contains(address, 4));
        Assert.Equal(map.ValueRegion.Address + 24 + 16, address);
        Assert.Equal(0UL, map.LookupValueAddress(BitConverter.GetBytes(1u), 3));
    }

    [Fact]
    public void A_value_of_the_wrong_size_names_the_layout()
    {
        using var map = new ArrayMap(Definition(BpfMapType.PerCpuArray, 2, valueSize: 12));
        var error = Assert.Throws<ArgumentException>(() => map.Update(new byte[4], new byte[12]));
        Assert.Contains("32-byte values (2 CPUs of 16 bytes)", error.Message);
    }

    [Fact]
    public void A_program_update_changes_only_its_cpus_value_and_a_new_entry_starts_zeroed_elsewhere()
    {
        // As the kernel did for examples/kernel_maps.o (percpu_stats on CPU 1): a new entry has 0 on the other CPUs.
        using var map = new HashMap(Definition(BpfMapType.PerCpuHash, 2, valueSize: 8));
        Assert.Equal(MapStatus.Success, map.UpdateFromProgram(BitConverter.GetBytes(7u), BitConverter.GetBytes(5UL), MapUpdateFlags.NoExist, 1));
        Assert.Equal(Convert.FromHexString("0000000000000000" + "0500000000000000"), map.Lookup(BitConverter.GetBytes(7u)));
        Assert.Equal(MapStatus.Success, map.UpdateFromProgram(BitConverter.GetBytes(7u), BitConverter.GetBytes(9UL), MapUpdateFlags.Exist, 0));
        Assert.Equal(Convert.FromHexString("0900000000000000" + "0500000000000000"), map.Lookup(BitConverter.GetBytes(7u)));
        Assert.Equal(MapStatus.InvalidArgument, map.UpdateFromProgram(BitConverter.GetBytes(7u), BitConverter.GetBytes(1UL), MapUpdateFlags.Any, 2));
    }

    [Fact]
    public void The_number_of_cpus_defaults_to_the_processor_count_and_is_bounded()
    {
        using var map = new ArrayMap(new MapDefinition("pc", BpfMapType.PerCpuArray, 4, 8, 1));
        Assert.Equal(Environment.ProcessorCount, map.Cpus);
        Assert.Contains("possible CPUs", Definition(BpfMapType.PerCpuArray, MapDefinition.MaxCpus + 1).Validate());
        Assert.Contains("on 8192 CPUs exceed", new MapDefinition("big", BpfMapType.PerCpuHash, 4, 4096, 65536) { PossibleCpus = 8192 }.Validate());
    }

    [Fact]
    public void Typed_entries_of_a_per_cpu_map_use_the_host_value()
    {
        using var map = new HashMap(Definition(BpfMapType.LruPerCpuHash, 2, valueSize: 8));
        map.Update(3u, new PerCpuPair(10, 20));
        var entry = Assert.Single(map.GetEntries<uint, PerCpuPair>());
        Assert.Equal((3u, 10UL, 20UL), (entry.Key, entry.Value.Cpu0, entry.Value.Cpu1));
    }

    private readonly record struct PerCpuPair(ulong Cpu0, ulong Cpu1);
}
