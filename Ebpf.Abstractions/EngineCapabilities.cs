namespace Ebpf;

/// <summary>What an engine is and needs.</summary>
[Flags]
public enum EngineCapabilities
{
    /// <summary>Nothing in particular.</summary>
    None = 0,
    /// <summary>Walks the program instruction by instruction.</summary>
    Interpreted = 1,
    /// <summary>Translates the program to .NET IL (JIT-compiled by the runtime).</summary>
    CompilesToIl = 2,
    /// <summary>Emits native machine code itself.</summary>
    NativeCode = 4,
    /// <summary>Needs <c>System.Reflection.Emit</c> (unavailable under NativeAOT).</summary>
    RequiresDynamicCode = 8,
    /// <summary>Honours <see cref="ExecutionOptions.MemoryChecks"/> = false (trusted programs, no checks in the generated code).</summary>
    CanDisableMemoryChecks = 16,
}
