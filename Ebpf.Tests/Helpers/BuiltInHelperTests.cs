using Ebpf.Conformance;
using Ebpf.Helpers;

namespace Ebpf.Tests.Helpers;

public class BuiltInHelperTests
{
    private static ulong Call(Helper helper, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0) =>
        helper.Simple!(a1, a2, a3, a4, a5);

    [Fact]
    public void Rbpf_set_has_rbpfs_ids_and_names()
    {
        var table = RbpfHelpers.Register(new HelperTable(), TextWriter.Null);
        Assert.Equal(
            ["0 gather_bytes", "1 memfrob", "3 sqrti", "4 strcmp", "5 bpf_ktime_getns", "6 bpf_trace_printk", "7 rand"],
            table.Select(h => h.ToString()));
    }

    [Fact]
    public void Conformance_set_has_the_suites_ids()
    {
        var table = ConformanceHelpers.CreateTable();
        Assert.Equal(
            ["0 gather_bytes", "1 memfrob", "2 no_op", "3 sqrti", "4 strcmp_ext", "5 unwind"],
            table.Select(h => h.ToString()));
    }

    [Fact]
    public void Gather_bytes_and_sqrti()
    {
        Assert.Equal(0x1122334455UL, Call(RbpfHelpers.GatherBytes(), 0x11, 0x22, 0x33, 0x44, 0x55));
        Assert.Equal(3UL, Call(RbpfHelpers.Sqrti(), 9));
        Assert.Equal(4UL, Call(RbpfHelpers.Sqrti(), 24));
        Assert.Equal(1UL << 20, Call(RbpfHelpers.Sqrti(), 1UL << 40));
    }

    [Fact]
    public void Trace_printk_writes_its_last_three_arguments_and_returns_the_length()
    {
        var output = new StringWriter();
        var helper = RbpfHelpers.TracePrintk(output);
        Assert.Equal(6u, helper.Id);
        ulong written = Call(helper, 0, 0, 1, 15, 32);
        Assert.Equal("bpf_trace_printf: 0x1, 0xf, 0x20\n", output.ToString());
        Assert.Equal((ulong)"bpf_trace_printf: 0x1, 0xf, 0x20\n".Length, written);
    }

    [Fact]
    public void Ktime_is_monotonic_nanoseconds()
    {
        var helper = RbpfHelpers.KtimeGetNs();
        ulong a = Call(helper);
        Thread.Sleep(2);
        ulong b = Call(helper);
        Assert.True(b > a);
        Assert.True(b - a >= 1_000_000, $"{b - a} ns for a 2 ms sleep");
    }

    [Fact]
    public void Rand_stays_within_an_inclusive_range()
    {
        var helper = RbpfHelpers.Rand();
        var seen = new HashSet<ulong>();
        for (int i = 0; i < 400; i++)
        {
            ulong n = Call(helper, 3, 6);
            Assert.InRange(n, 3UL, 6UL);
            seen.Add(n);
        }

        Assert.Equal(4, seen.Count);
    }

    [Fact]
    public void Ids_can_be_chosen()
    {
        Assert.Equal(40u, RbpfHelpers.Sqrti(40).Id);
        Assert.Equal(41u, RbpfHelpers.Memfrob(41).Id);
        Assert.Equal(42u, RbpfHelpers.TracePrintk(TextWriter.Null, 42).Id);
    }
}
