using Ebpf.Helpers;

namespace Ebpf.Tests.Helpers;

public class HelperTableTests
{
    [Fact]
    public void Register_replace_and_list()
    {
        var table = new HelperTable();
        table.Add(5, "five", (_, _, _, _, _) => 5).Add(1, "one", (_, _, _, _, _) => 1);
        Assert.Equal(2, table.Count);
        Assert.Equal([1u, 5u], table.Select(h => h.Id));

        var e = Assert.Throws<ArgumentException>(() => table.Add(5, "again", (_, _, _, _, _) => 0));
        Assert.Contains("five", e.Message);

        table.Set(5, "FIVE", (_, _, _, _, _) => 55);
        Assert.True(table.TryGet(5, out var replaced));
        Assert.Equal("FIVE", replaced.Name);
        Assert.True(table.TryGet("one", out var byName));
        Assert.Equal(1u, byName.Id);
        Assert.False(table.TryGet("five", out _));

        Assert.True(table.Remove(1));
        Assert.False(table.Remove(1));
        Assert.Equal(1, table.Count);
    }
}
