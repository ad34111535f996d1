using Ebpf.Helpers;
using Ebpf.Maps;
using Ebpf.Tests.Infrastructure;

namespace Ebpf.Tests.Maps;

/// <summary>
/// Lookups that take no lock, while another thread updates and deletes: keys that stay in the map are always found with
/// their own value, keys never inserted are never found, and keys that come and go are found with their own value or
/// not at all (or, through a pointer whose entry was deleted and whose slot was reused during the run, another
/// churning key's value: Linux's semantics too).
/// </summary>
public class HashMapConcurrencyTests
{
    /// <summary>Keys 0-5 stay, keys 100-109 come and go (more than the 10 free slots: deletions free slots for reuse), keys 200+ never exist.</summary>
    private const int Stable = 6;
    private const int Churning = 10;
    private const int Capacity = 16;
    private const ulong Missing = MapLookupPrograms.Missing;

    private static ulong ValueOf(uint key) => (key * 0x9E37_79B9UL) + 1;

    [Theory]
    [MemberData(nameof(TestEngines.Names), MemberType = typeof(TestEngines))]
    public void Programs_looking_up_while_the_host_updates_and_deletes_see_only_their_keys_values(string engine)
    {
        using var map = new HashMap("h", 4, 8, Capacity);
        for (uint k = 0; k < Stable; k++)
        {
            map.Update(k, ValueOf(k));
        }

        var environment = LinuxHelpers.Register(new ProgramEnvironment());
        environment.AddMap(map);
        using var compiled = TestEngines.Get(engine).Compile(MapLookupPrograms.StackKey, environment);
        var churn = new Churn(map);
        var input = new byte[4];
        int runs = 0, foundChurning = 0;
        try
        {
            for (var deadline = DateTime.UtcNow.AddMilliseconds(300); DateTime.UtcNow < deadline || runs < 2_000; runs++)
            {
                uint key = (runs % 3) switch { 0 => (uint)(runs / 3 % Stable), 1 => 100 + (uint)(runs / 3 % Churning), _ => 200 + (uint)(runs / 3 % 7) };
                BitConverter.TryWriteBytes(input, key);
                ulong r0 = compiled.Run(input);
                if (key < Stable)
                {
                    Assert.Equal(ValueOf(key), r0);
                }
                else if (key >= 200)
                {
                    Assert.Equal(Missing, r0);
                }
                else if (r0 != Missing)
                {
                    Assert.Contains(r0, Enumerable.Range(100, Churning).Select(k => ValueOf((uint)k)));
                    foundChurning++;
                }
            }
        }
        finally
        {
            churn.Stop();
        }

        Assert.True(churn.Changes > 0, "the host made no change during the runs");
        Assert.True(foundChurning > 0, "no run found a churning key");
    }

    /// <summary>
    /// In an LRU map (room for every key, so nothing is evicted) a lookup of the most recently used entry or of a missing
    /// key takes no lock either; each key is looked up twice in a row, so the second lookup usually finds the newest.
    /// </summary>
    [Theory]
    [InlineData(BpfMapType.Hash)]
    [InlineData(BpfMapType.LruHash)]
    public void Host_lookups_without_the_lock_never_return_another_keys_slot(BpfMapType type)
    {
        using var map = new HashMap(new MapDefinition("h", type, 4, 8, Capacity));
        for (uint k = 0; k < Stable; k++)
        {
            map.Update(k, ValueOf(k));
        }

        var churn = new Churn(map);
        Exception? failure = null;
        try
        {
            var readers = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
            {
                try
                {
                    var key = new byte[4];
                    for (var deadline = DateTime.UtcNow.AddMilliseconds(300); DateTime.UtcNow < deadline;)
                    {
                        for (uint k = 0; k < Stable; k++)
                        {
                            BitConverter.TryWriteBytes(key, k);
                            Assert.Equal(ValueOf(k), Read(map.LookupValueAddress(key)));
                            Assert.Equal(ValueOf(k), Read(map.LookupValueAddress(key)));
                            BitConverter.TryWriteBytes(key, 200 + k);
                            Assert.Equal(0UL, map.LookupValueAddress(key));
                        }
                    }
                }
                catch (Exception e)
                {
                    failure = e;
                }
            })).ToArray();
            foreach (var reader in readers)
            {
                reader.Start();
            }

            foreach (var reader in readers)
            {
                reader.Join();
            }
        }
        finally
        {
            churn.Stop();
        }

        Assert.Null(failure);
        Assert.True(churn.Changes > 0);
    }

    /// <summary>A thread that inserts and deletes the churning keys (with their own values) until stopped, counting its changes.</summary>
    private sealed class Churn
    {
        private readonly Thread thread;
        private volatile bool stopping;

        public Churn(HashMap map)
        {
            thread = new Thread(() =>
            {
                for (uint i = 0; !stopping; i++)
                {
                    uint key = 100 + (i * 7 % Churning);
                    if (map.Update(key, ValueOf(key)) == MapStatus.Success)
                    {
                        Changes++;
                    }

                    if (map.Delete(100 + (i * 3 % Churning)) == MapStatus.Success)
                    {
                        Changes++;
                    }
                }
            });
            thread.Start();
        }

        public long Changes { get; private set; }

        /// <summary>Stops the thread and waits for it.</summary>
        public long Stop()
        {
            stopping = true;
            thread.Join();
            return Changes;
        }
    }

    private static unsafe ulong Read(ulong address) => address == 0 ? 0 : *(ulong*)address;
}
