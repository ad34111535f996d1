namespace Ebpf.X64.Compiler;

/// <summary>What the compiler produces: the machine code and the tables the managed side needs to interpret a run's end.</summary>
/// <param name="Code">The position-independent machine code; the entry point is at offset 0.</param>
/// <param name="Sites">The helper call sites, by site index.</param>
/// <param name="PcOffsets">For each slot, the code offset where its translation starts (-1 for second lddw slots).</param>
/// <param name="CheckedAccesses">The loads, stores and atomics compiled with a run-time check.</param>
/// <param name="ProvenAccesses">The ones compiled without, because the safety analysis proves them in bounds.</param>
/// <param name="CallbackOffsets">By function index, the code offset of the function's callback entry (-1 when it is no callback).</param>
/// <param name="HelpersReturn">True when helper calls return to the host: the entry and every resume entry return a
/// <see cref="Runtime.CodeExit"/> (the call site and the address of its resume entry <c>CodeExit (RunBlock*, ulong
/// result)</c>, or the end of the run).</param>
/// <param name="Guards">What the compilation did with the guarded loops of its check plan.</param>
/// <param name="TailEntryOffset">The code offset of the tail entry a tail call's jump enters (see X64Compiler.TailCall.cs), or -1.</param>
internal sealed record CompiledCode(
    byte[] Code, HelperSite[] Sites, int[] PcOffsets, int CheckedAccesses, int ProvenAccesses, int[] CallbackOffsets, bool HelpersReturn, LoopGuardCounts Guards,
    int TailEntryOffset = -1);
