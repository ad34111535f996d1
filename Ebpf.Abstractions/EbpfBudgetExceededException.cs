using Ebpf.Isa;

namespace Ebpf;

/// <summary>A run that executed more instructions than its budget.</summary>
public sealed class EbpfBudgetExceededException : EbpfRuntimeException
{
    /// <summary>Creates the exception.</summary>
    public EbpfBudgetExceededException(int pc, Instruction instruction, long budget)
        : base(RuntimeErrorKind.BudgetExceeded, pc, instruction, $"instruction budget of {budget} exceeded")
    {
        Budget = budget;
    }

    /// <summary>The budget that was exceeded.</summary>
    public long Budget { get; }
}
