namespace Ebpf.Building;

/// <summary>An eBPF register: r0 (return value), r1-r5 (arguments), r6-r9 (callee-saved), r10 (read-only frame pointer).</summary>
public enum Register : byte
{
    /// <summary>Return value of helpers and of the program.</summary>
    R0 = 0,
    /// <summary>First argument (the context address at entry).</summary>
    R1 = 1,
    /// <summary>Second argument (the context length at entry).</summary>
    R2 = 2,
    /// <summary>Third argument.</summary>
    R3 = 3,
    /// <summary>Fourth argument.</summary>
    R4 = 4,
    /// <summary>Fifth argument.</summary>
    R5 = 5,
    /// <summary>Callee-saved.</summary>
    R6 = 6,
    /// <summary>Callee-saved.</summary>
    R7 = 7,
    /// <summary>Callee-saved.</summary>
    R8 = 8,
    /// <summary>Callee-saved.</summary>
    R9 = 9,
    /// <summary>The read-only frame pointer (top of the current stack frame).</summary>
    R10 = 10,
}
