using Ebpf.Isa;

namespace Ebpf;

/// <summary>A local call beyond the maximum call depth.</summary>
public sealed class EbpfCallDepthExceededException : EbpfRuntimeException
{
    /// <summary>Creates the exception.</summary>
    public EbpfCallDepthExceededException(int pc, Instruction instruction, int maxDepth)
        : base(RuntimeErrorKind.CallDepthExceeded, pc, instruction, $"call depth exceeded: at most {maxDepth} frames are allowed")
    {
        MaxDepth = maxDepth;
    }

    /// <summary>The maximum number of frames.</summary>
    public int MaxDepth { get; }
}
