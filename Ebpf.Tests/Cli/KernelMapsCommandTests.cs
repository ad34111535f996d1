namespace Ebpf.Tests.Cli;

/// <summary><c>ebpf run --maps</c> on examples/kernel_maps.o: the kernel map types print their contents.</summary>
public class KernelMapsCommandTests
{
    private static readonly string Object = Tool.Example("kernel_maps.o");

    [Fact]
    public void Ring_buffer_records_and_per_cpu_values_are_printed()
    {
        var result = Tool.Run("run", Object, "--section", "ringbuf_events", "--maps");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("r0 = 0x38 (56)", result.OutLines[0]);
        int events = Array.IndexOf(result.OutLines, "map events (RingBuffer, 2 record(s))");
        Assert.True(events > 0, result.Out);
        Assert.Equal(["  00 00 00 00 00 00 00 00 88 77 66 55 44 33 22 11", "  68 65 6c 6c 6f"], result.OutLines[(events + 1)..(events + 3)]);

        result = Tool.Run("run", Object, "--section", "percpu_stats", "--maps");
        Assert.Equal("r0 = 0x2 (2)", result.OutLines[0]);
        Assert.Contains("map cpu_stats (PerCpuArray, 2 non-zero of 2 entries)", result.OutLines);
        Assert.Contains(result.OutLines, line => line.StartsWith("  0 = cpu0=1 cpu1=0", StringComparison.Ordinal) || line == "  0 = cpu0=1");
        Assert.Contains("map outer_array (ArrayOfMaps, 2 of 2 entries)", result.OutLines);
        Assert.Contains("  1 = inner_b", result.OutLines);
    }

    [Fact]
    public void Queue_values_print_in_the_order_they_would_come_out()
    {
        var result = Tool.Run("run", Object, "--section", "queue_sequence", "--maps");
        Assert.Equal(0, result.ExitCode);
        int fifo = Array.IndexOf(result.OutLines, "map fifo (Queue, 1 of 3 entries)");
        int lifo = Array.IndexOf(result.OutLines, "map lifo (Stack, 1 of 3 entries)");
        Assert.Equal(("  4", "  2"), (result.OutLines[fifo + 1], result.OutLines[lifo + 1]));
    }
}
