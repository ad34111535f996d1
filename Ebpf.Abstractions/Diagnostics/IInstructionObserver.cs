namespace Ebpf.Diagnostics;

/// <summary>
/// Watches a run one instruction at a time: an engine that supports observation (see <see cref="IObservableProgram"/>)
/// calls <see cref="OnInstruction"/> before each instruction it executes, on the thread of the run. Tracers,
/// profilers and debuggers are observers. An exception thrown here ends the run and reaches the caller of
/// <see cref="IObservableProgram.Run(Span{byte}, Span{byte}, IInstructionObserver)"/> unchanged.
/// </summary>
public interface IInstructionObserver
{
    /// <summary>Called before the instruction at <see cref="InstructionStep.Pc"/> executes.</summary>
    /// <param name="step">The instruction, the registers (writable) and checked access to the run's memory; valid only during the call.</param>
    void OnInstruction(in InstructionStep step);
}
