using Ebpf.Execution;

namespace Ebpf.Interpreter;

/// <summary>
/// What the dispatch loop calls before each instruction. The loop is generic over the hook type, so the JIT compiles
/// one copy per hook: with <see cref="NoHook"/> (<see cref="Enabled"/> a constant false) the call and its argument
/// computation vanish from the code, and an unobserved run costs nothing.
/// </summary>
internal unsafe interface IExecutionHook
{
    /// <summary>False when the hook does nothing (the loop then skips it at JIT time).</summary>
    static abstract bool Enabled { get; }

    /// <summary>Called before the instruction at <paramref name="pc"/>.</summary>
    void Before(EbpfProgram program, int pc, int depth, ulong* registers, ref RunState state);
}
