namespace Ebpf;

/// <summary>How an <see cref="IEngineSelector"/> chooses an engine when no name is given.</summary>
public enum EnginePolicy
{
    /// <summary>
    /// The safest available engine: an interpreter first (it checks every access and runs everywhere), then an engine
    /// that compiles to .NET IL, then native code.
    /// </summary>
    Safest,

    /// <summary>
    /// The fastest available engine: native code first, then an engine that compiles to .NET IL, then an interpreter;
    /// an engine that reports itself unavailable here (e.g. native x86-64 code on another CPU, IL under NativeAOT) is
    /// skipped.
    /// </summary>
    Fastest,
}
