using Ebpf.Diagnostics;
using Ebpf.Execution;

namespace Ebpf.Interpreter;

/// <summary>The hook of an observed run: hands each instruction to the <see cref="IInstructionObserver"/>.</summary>
internal readonly unsafe struct ObserverHook(IInstructionObserver observer) : IExecutionHook
{
    /// <inheritdoc />
    public static bool Enabled => true;

    /// <inheritdoc />
    public void Before(EbpfProgram program, int pc, int depth, ulong* registers, ref RunState state) =>
        observer.OnInstruction(new InstructionStep(program, pc, depth, registers, ref state));
}
