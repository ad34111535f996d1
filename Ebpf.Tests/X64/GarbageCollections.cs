namespace Ebpf.Tests.X64;

/// <summary>Garbage-collection pressure for tests of code the runtime must be able to suspend.</summary>
internal static class GarbageCollections
{
    /// <summary>Starts a task that forces full collections (and allocates) until <paramref name="token"/> is cancelled.</summary>
    public static Task ForceUntil(CancellationToken token) => Task.Run(
        () =>
        {
            while (!token.IsCancellationRequested)
            {
                GC.Collect();
                _ = new byte[1024];
            }
        },
        CancellationToken.None); // started even when the token is already cancelled, so awaiting it never throws
}
