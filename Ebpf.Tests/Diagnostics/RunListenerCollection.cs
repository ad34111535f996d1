namespace Ebpf.Tests.Diagnostics;

/// <summary>
/// Tests that listen to the runs' metrics (a process-wide <see cref="System.Diagnostics.Metrics.MeterListener"/>) and
/// tests that assert a run took the direct path run alone: while any listener enables a run instrument, every run in the
/// process takes the plain path (so that it is counted), and a direct-path assertion running beside it fails.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "An xunit collection definition; the suffix says what it is.")]
public sealed class RunListenerCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "run listeners and the direct path";
}
