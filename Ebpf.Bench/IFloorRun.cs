namespace Ebpf.Bench;

/// <summary>One thing <see cref="RunFloorProbe.Measure{TRun}"/> times: a run, or a layer of the run path.</summary>
internal interface IFloorRun
{
    /// <summary>Does it once; returns a value that depends on the work, so that none of it is optimised away.</summary>
    ulong Run();
}
