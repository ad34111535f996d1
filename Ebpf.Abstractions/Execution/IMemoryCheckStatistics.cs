namespace Ebpf.Execution;

/// <summary>
/// What a compilation did about memory checks: how many loads, stores and atomics got a run-time check and how many were
/// compiled without one because the safety analysis proves them in bounds (see <see cref="Analysis.CheckPlan"/>).
/// Implemented by this library's compiled programs; for tests and diagnostics.
/// </summary>
internal interface IMemoryCheckStatistics
{
    /// <summary>The accesses compiled with a run-time check (legacy packet loads, always checked, are not counted).</summary>
    int CheckedAccesses { get; }

    /// <summary>The accesses compiled without a check because they are proven in bounds.</summary>
    int ProvenAccesses { get; }
}
