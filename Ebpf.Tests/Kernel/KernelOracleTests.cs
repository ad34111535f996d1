using Ebpf.Elf;
using Ebpf.Kernel;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Kernel;

/// <summary>
/// The kernel-style C programs of examples/kernel run on every engine give what the Linux kernel gave on the same
/// frames (kernel-results.txt, recorded with BPF_PROG_TEST_RUN on 2026-12-02 and 2026-12-03): the same verdict, output packet and
/// map entries and ring-buffer records, or a refusal where the kernel refused the packet; tail calls through the
/// program arrays the object initialises included.
/// </summary>
public sealed class KernelOracleTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in TestEngines.All)
        {
            foreach (var id in KernelOracleCase.All.Keys)
            {
                data.Add(engine.Name, id);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_engine_answers_as_the_kernel(string engine, string id)
    {
        var test = KernelOracleCase.All[id];
        // The kernel had 2 possible CPUs: per-CPU maps get 2 values here too, whatever this machine has; the run is on
        // the CPU the oracle pinned it to.
        using var runtime = ElfLoader.Load(Path.Combine(KernelOracleCase.Directory, test.ObjectName + ".o")).CreateRuntime(
            new ElfRuntimeOptions { PossibleCpus = 2, Helpers = new Ebpf.Helpers.LinuxHelperOptions { ProcessorId = test.Cpu } });
        using var program = KernelProgram.Load(runtime, TestEngines.Get(engine), test.Program);
        foreach (var (map, key, value) in test.Sets)
        {
            MapSnapshot.Set(runtime, map, key, value);
        }

        var packet = File.ReadAllBytes(Path.Combine(KernelOracleCase.Directory, "packets", test.Packet + ".bin"));
        var options = test.Options(program.Type);
        if (test.KernelRefused)
        {
            // refused with the error the kernel gave
            var refusal = Assert.Throws<EbpfTestRunException>(() => program.TestRun(packet, options));
            Assert.EndsWith($"({test.RefusalErrno})", refusal.Message, StringComparison.Ordinal);
            return;
        }

        var result = program.TestRun(packet, options);
        Assert.Equal(test.Result, result.ToLine()[..result.ToLine().IndexOf(" duration_ns=", StringComparison.Ordinal)]);
        var maps = MapSnapshot.Lines(runtime);
        Assert.Equal(test.Maps.Count, maps.Count);
        for (int i = 0; i < maps.Count; i++)
        {
            Assert.True(Matches(test.Maps[i], maps[i]), $"map line {i}: kernel '{test.Maps[i]}', {engine} '{maps[i]}'");
        }

        // The struct __sk_buff or xdp_md the kernel gave back, byte for byte, when it was given one (and none otherwise).
        Assert.Equal(test.ContextOut, result.ContextOut is null ? null : Convert.ToHexStringLower(result.ContextOut));
    }

    /// <summary>
    /// Equal, where '?' in the kernel's line matches any character (masked hash values); a map the oracle was asked
    /// not to print (<c>skipped=by_request</c>: program arrays, whose values are kernel program ids) matches the line
    /// of the same map.
    /// </summary>
    private static bool Matches(string kernel, string actual) =>
        kernel.EndsWith(" skipped=by_request", StringComparison.Ordinal)
            ? actual.StartsWith(kernel[..(kernel.Length - "skipped=by_request".Length)], StringComparison.Ordinal)
            : kernel.Length == actual.Length && kernel.Zip(actual).All(p => p.First == '?' || p.First == p.Second);
}
