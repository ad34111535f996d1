using Iced.Intel;

namespace Ebpf.X64.Abi;

/// <summary>
/// The host calling convention as the generated code sees it: how the entry function saves and restores the
/// registers it must preserve and receives the run block, and how the helper dispatcher is called. Everything else in
/// the generated code is independent of the host ABI. The generated body keeps the native stack 16-byte aligned when
/// it calls out (the dispatcher); code that never calls out saves no register only for alignment.
/// </summary>
internal interface INativeAbi
{
    /// <summary>A short name for listings and messages.</summary>
    string Name { get; }

    /// <summary>The register that holds the first integer argument at entry (the run block; a tail call's jump passes it
    /// there to its target's entry).</summary>
    AssemblerRegister64 FirstArgument { get; }

    /// <summary>The register that holds the second integer argument at entry (the helper result passed to the resume
    /// entry, see <see cref="Runtime.CodeExit"/>).</summary>
    AssemblerRegister64 SecondArgument { get; }

    /// <summary>The register that holds the second half of a 16-byte result (a struct of two integers returned in
    /// registers): code whose helper calls return to the host returns the resume entry's address there, or 0 when the
    /// run has left the code for good (see <see cref="Runtime.CodeExit"/>).</summary>
    AssemblerRegister64 SecondReturn { get; }

    /// <summary>Emits the entry: saves the callee-saved registers among <paramref name="written"/> (the host registers
    /// the generated code may change; r12 is always among them) and moves the run-block argument into r12. With
    /// <paramref name="alignStack"/> the native stack pointer is 8 modulo 16 after it (the body is entered with a
    /// <c>call</c>, which makes it 0 modulo 16), as a call out of the code needs.</summary>
    void EmitPrologue(Assembler assembler, IReadOnlySet<Register> written, bool alignStack);

    /// <summary>Emits the return to the host: restores what the prologue saved for the same <paramref name="written"/>
    /// and <paramref name="alignStack"/>, and returns (r0 in rax).</summary>
    void EmitEpilogue(Assembler assembler, IReadOnlySet<Register> written, bool alignStack);

    /// <summary>
    /// Emits a call of the dispatcher <c>ulong (RunBlock*, int site)</c> at <paramref name="function"/> with r12 as the
    /// first argument and <paramref name="site"/> as the second. The stack is 16-byte aligned at this point. The result
    /// is in rax; every register the ABI lets the callee change may have changed.
    /// </summary>
    void EmitDispatcherCall(Assembler assembler, ulong function, int site);

    /// <summary>
    /// Emits the entry of a direct body <c>(ulong r1, ulong r2) -&gt; (ulong r0, ulong fault)</c> (see
    /// <c>X64Compiler.CompileWithDirect</c>): saves the callee-saved registers among <paramref name="written"/> (the host
    /// registers the body changes) and leaves the first two integer arguments in the host registers of eBPF r1 and r2.
    /// The body calls nothing, so the stack needs no alignment.
    /// </summary>
    void EmitDirectPrologue(Assembler assembler, IReadOnlySet<Register> written);

    /// <summary>
    /// Emits the return of a direct body: restores what <see cref="EmitDirectPrologue"/> saved and returns the pair
    /// (rax, rdx) as the host returns a 16-byte structure of two integers.
    /// </summary>
    void EmitDirectEpilogue(Assembler assembler, IReadOnlySet<Register> written);
}
