using CsCheck;
using Ebpf.Maps;

namespace Ebpf.Tests.Maps;

/// <summary>Random sequences of updates, deletions and lookups on hash maps against a reference dictionary.</summary>
public class HashMapPropertyTests
{
    private const int Capacity = 8;

    /// <summary>An operation: 0 update (any), 1 update (no-exist), 2 update (exist), 3 delete, 4 lookup; a key id; a value.</summary>
    private static readonly Gen<(int Kind, int Key, ulong Value)> Operation =
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 20], Gen.ULong);

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(3)]
    [InlineData(13)]
    public void Matches_a_reference_dictionary(int keySize)
    {
        Operation.Array[0, 60].Sample(operations =>
        {
            using var map = new HashMap(new MapDefinition("h", BpfMapType.Hash, (uint)keySize, 8, Capacity));
            var reference = new Dictionary<int, ulong>();
            foreach (var (kind, id, value) in operations)
            {
                byte[] key = KeyBytes(id, keySize);
                switch (kind)
                {
                    case 3:
                        Assert.Equal(reference.Remove(id) ? MapStatus.Success : MapStatus.NotFound, map.Delete(key));
                        break;
                    case 4:
                        ulong? expected = reference.TryGetValue(id, out ulong known) ? known : null;
                        ulong? found = map.Lookup(key) is { } bytes ? BitConverter.ToUInt64(bytes) : null;
                        Assert.Equal(expected, found);
                        break;
                    default:
                        var flags = (MapUpdateFlags)kind;
                        bool present = reference.ContainsKey(id);
                        var status = flags == MapUpdateFlags.NoExist && present ? MapStatus.Exists
                            : flags == MapUpdateFlags.Exist && !present ? MapStatus.NotFound
                            : !present && reference.Count == Capacity ? MapStatus.TooBig
                            : MapStatus.Success;
                        if (status == MapStatus.Success)
                        {
                            reference[id] = value;
                        }

                        Assert.Equal(status, map.Update(key, BitConverter.GetBytes(value), flags));
                        break;
                }

                Assert.Equal(reference.Count, map.Count);
            }

            var entries = map.GetEntries().ToDictionary(e => Convert.ToHexString(e.Key), e => BitConverter.ToUInt64(e.Value));
            Assert.Equal(reference.ToDictionary(e => Convert.ToHexString(KeyBytes(e.Key, keySize)), e => e.Value), entries);
            foreach (var (id, value) in reference)
            {
                ulong address = map.LookupValueAddress(KeyBytes(id, keySize), 0);
                Assert.True(map.ValueRegion.Contains(address, 8));
                Assert.Equal(value, ReadU64(address));
            }
        });
    }

    /// <summary>The key bytes of key id <paramref name="id"/>: distinct ids differ in the first and the last byte.</summary>
    internal static byte[] KeyBytes(int id, int keySize)
    {
        var key = new byte[keySize];
        key[0] = (byte)id;
        key[^1] ^= (byte)(id * 37);
        return key;
    }

    private static unsafe ulong ReadU64(ulong address) => *(ulong*)address;
}
