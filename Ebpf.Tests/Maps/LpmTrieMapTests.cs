using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>LPM tries through the host API (IPv4 keys: u32 prefix length, then 4 address bytes).</summary>
public class LpmTrieMapTests
{
    private static LpmTrieMap Trie(uint maxEntries = 8) =>
        new(new MapDefinition("lpm", BpfMapType.LpmTrie, 8, 4, maxEntries, MapDefinition.NoPreallocFlag));

    private static byte[] Key(uint prefix, string address) => [.. BitConverter.GetBytes(prefix), .. Convert.FromHexString(address)];

    private static uint? Find(LpmTrieMap trie, uint prefix, string address) =>
        trie.Lookup(Key(prefix, address)) is { } value ? BitConverter.ToUInt32(value) : null;

    [Fact]
    public void Lookups_take_the_longest_prefix_no_longer_than_the_keys()
    {
        using var trie = Trie();
        trie.Update(Key(0, "00000000"), BitConverter.GetBytes(0u));
        trie.Update(Key(8, "0a000000"), BitConverter.GetBytes(8u));
        trie.Update(Key(12, "0a100000"), BitConverter.GetBytes(12u));
        trie.Update(Key(32, "0a100001"), BitConverter.GetBytes(32u));
        Assert.Equal(32u, Find(trie, 32, "0a100001"));
        Assert.Equal(12u, Find(trie, 32, "0a1f0001"));
        Assert.Equal(8u, Find(trie, 32, "0a200001"));
        Assert.Equal(0u, Find(trie, 32, "0b000001"));
        Assert.Equal(8u, Find(trie, 11, "0a100001"));
        Assert.Equal(0u, Find(trie, 7, "0a100001"));
    }

    [Fact]
    public void Updates_and_deletes_name_an_entry_by_its_prefix()
    {
        using var trie = Trie();
        Assert.Equal(MapStatus.Success, trie.Update(Key(16, "0a01ffff"), BitConverter.GetBytes(1u)));
        Assert.Equal(MapStatus.Exists, trie.Update(Key(16, "0a010000"), BitConverter.GetBytes(2u), MapUpdateFlags.NoExist));
        Assert.Equal(MapStatus.Success, trie.Update(Key(16, "0a010000"), BitConverter.GetBytes(3u)));
        Assert.Equal(1, trie.Count);
        Assert.Equal(Key(16, "0a010000"), Assert.Single(trie.GetEntries()).Key);
        Assert.Equal(MapStatus.NotFound, trie.Delete(Key(17, "0a010000")));
        Assert.Equal(MapStatus.Success, trie.Delete(Key(16, "0a01abcd")));
        Assert.Null(Find(trie, 32, "0a010203"));
        Assert.Equal(0, trie.Count);
    }

    [Fact]
    public void Linux_errors_for_bad_prefixes_full_tries_and_missing_flags()
    {
        using var trie = Trie(maxEntries: 1);
        Assert.Equal(MapStatus.InvalidArgument, trie.Update(Key(33, "0a000000"), new byte[4]));
        Assert.Equal(MapStatus.InvalidArgument, trie.Delete(Key(33, "0a000000")));
        Assert.Equal(MapStatus.Success, trie.Update(Key(8, "0a000000"), new byte[4]));
        Assert.Equal(MapStatus.NoSpace, trie.Update(Key(9, "0a000000"), new byte[4]));
        Assert.Contains("BPF_F_NO_PREALLOC", new MapDefinition("lpm", BpfMapType.LpmTrie, 8, 4, 4).Validate());
        Assert.Contains("u32 prefix length and 1 to 256 data bytes", new MapDefinition("lpm", BpfMapType.LpmTrie, 4, 4, 4, MapDefinition.NoPreallocFlag).Validate());
    }
}
