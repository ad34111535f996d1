namespace Ebpf.Tests.X64;

/// <summary>Garbage-collection pressure for tests of code the runtime must be able to suspend.</summary>
internal static class GarbageCollections
{
    /// <summary>
    /// Starts a task that forces full collections (and allocates) until <paramref name="token"/> is cancelled, with a
    /// millisecond's pause between two collections: back-to-back full collections of the test process's heap leave
    /// the threads under test almost no time to run between two suspensions, so a quiet 2-core machine took minutes
    /// for what a loaded one did in seconds. Every collection still lands while those threads are running.
    /// </summary>
    public static Task ForceUntil(CancellationToken token) => Task.Run(
        () =>
        {
            while (!token.IsCancellationRequested)
            {
                GC.Collect();
                _ = new byte[1024];
                Thread.Sleep(1);
            }
        },
        CancellationToken.None); // started even when the token is already cancelled, so awaiting it never throws

    /// <summary>A full collection with the finalizers it found run, and another for what they released.</summary>
    public static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>
    /// Collects (at most ten times) until no more than <paramref name="mappings"/> code mappings are alive: the mapping
    /// of a disposed brief program goes with the program's collection, not with its Dispose.
    /// </summary>
    public static void CollectUntilMappings(long mappings)
    {
        for (int i = 0; i < 10 && Ebpf.X64.X64Engine.LiveCodeMappings > mappings; i++)
        {
            Collect();
        }
    }
}
