using Ebpf.Execution;

namespace Ebpf.Interpreter;

/// <summary>The hook of an unobserved run: nothing, removed from the loop at JIT time.</summary>
internal readonly unsafe struct NoHook : IExecutionHook
{
    /// <inheritdoc />
    public static bool Enabled => false;

    /// <inheritdoc />
    public void Before(EbpfProgram program, int pc, int depth, ulong* registers, ref RunState state)
    {
    }
}
