using Ebpf.Assembly;
using Ebpf.Diagnostics;
using Ebpf.Interpreter;
using Ebpf.Verification;

namespace Ebpf.Tests.Diagnostics;

/// <summary>Programs whose executed instructions are known by hand, for the trace, profile and debugger tests.</summary>
public static class DiagnosticPrograms
{
    /// <summary>
    /// Sums 5+4+3+2+1 in a loop. Executes 18 instructions: pcs 0 and 1 once, the loop body (pcs 2-4) five times, the
    /// exit once; r0 = 15. Basic blocks: 0-1, 2-4 (the loop, a jump target) and 5.
    /// </summary>
    public const string Loop =
        """
        mov r0, 0
        mov r1, 5
        add r0, r1
        sub r1, 1
        jne r1, 0, -3
        exit
        """;

    /// <summary>Returns its stack pointer after a word store, a doubleword store and an atomic add: 6 instructions.</summary>
    public const string Stores =
        """
        mov r0, r10
        stw [r10-4], 0x2a
        stdw [r10-16], 5
        mov r1, 3
        lock add [r10-16], r1
        exit
        """;

    /// <summary>Reads a doubleword from the input at offset 0 (fails without input at pc 1, after 1 complete instruction).</summary>
    public const string ReadInput =
        """
        mov r0, 0
        ldxdw r0, [r1]
        exit
        """;

    /// <summary>Assembles and loads <paramref name="source"/>.</summary>
    public static EbpfProgram Load(string source) => ProgramLoader.Load(Assembler.Assemble(source));

    /// <summary>Compiles <paramref name="source"/> on the interpreter, which runs programs under observers.</summary>
    public static IObservableProgram Observable(string source) =>
        new InterpreterEngine().CompileObservable(Load(source));
}
