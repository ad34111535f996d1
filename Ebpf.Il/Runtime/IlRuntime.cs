using System.Runtime.CompilerServices;
using Ebpf.Execution;

namespace Ebpf.Il.Runtime;

/// <summary>
/// The methods generated code calls: the cold half of the memory check, helper dispatch, and the builders of the
/// run-time errors. Everything that throws or is rarely taken lives here, out of line, so the generated hot paths stay
/// small.
/// </summary>
internal static unsafe class IlRuntime
{
    /// <summary>
    /// The error of an access (or a legacy packet load) outside every region it may touch: the interpreter's
    /// violation, built out of line so the generated code only has a call and a throw on its failing path.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Exception Violation(IlClosure closure, RunState* state, ulong address, int size, int access, ulong stackLow, int pc) =>
        MemoryGuard.Violation(closure.Program, pc, ref *state, address, (ulong)size, (MemoryAccessKind)access, stackLow);

    /// <summary>
    /// The violation of the access at <paramref name="pc"/> in a direct entry (see <see cref="DirectEntry"/>), whose
    /// only memory is the input <paramref name="r1"/> / <paramref name="r2"/>: the plain run's error, message included.
    /// </summary>
    public static Exception DirectViolation(IlClosure closure, ulong address, int size, int access, ulong r1, ulong r2, int pc) =>
        closure.Running.DirectViolation(pc, address, (ulong)size, (MemoryAccessKind)access, r1, r2);

    /// <summary>
    /// A restartable direct entry that has spent its backward jumps (see <c>FunctionCompiler.EmitDirectStep</c>): the run
    /// again from the start on the plain path, with the entry's r1 and r2; its r0.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong RestartDirect(IlClosure closure, ulong r1, ulong r2) => closure.Running.RestartDirect(r1, r2);

    /// <summary>
    /// The error of a segment whose instructions do not all fit in the budget: it names the instruction the
    /// interpreter would have stopped at, the one <paramref name="remaining"/> instructions after the segment's start.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Exception BudgetExceeded(IlClosure closure, int segmentStart, long remaining)
    {
        var program = closure.Program;
        int pc = program.Analysis.Segments(closure.Options.MemoryChecks).FailingPc(segmentStart, remaining);
        return new EbpfBudgetExceededException(pc, program.Instructions[pc], closure.Budget);
    }

    /// <summary>The error of a run stopped from outside, seen at the backward jump at <paramref name="pc"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Exception Cancelled(IlClosure closure, RunState* state, int pc) => CompiledProgram.CancelledAt(closure.Program, pc, ref *state);

    /// <summary>Runs function <paramref name="function"/>, compiled in chunks (the body of its method).</summary>
    public static ulong RunChunked(IlClosure closure, int function, RunState* state, CallFrame* frame, int depth) =>
        closure.Chunked[function]!.Run(state, frame, depth);

    /// <summary>The error of a local call that would need more frames than allowed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Exception CallDepthExceeded(IlClosure closure, int pc) =>
        new EbpfCallDepthExceededException(pc, closure.Program.Instructions[pc], closure.Options.MaxCallDepth);

    /// <summary>Calls the helper of a <c>call imm</c> (resolved at compile time) with the shared rules.</summary>
    public static ulong CallHelper(
        IlClosure closure, int slot, RunState* state, int pc, ulong stackLow, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5) =>
        CompiledProgram.InvokeHelper(
            closure.Helpers[slot], state, closure.Program, closure.Environment, closure.Options, pc, stackLow, a1, a2, a3, a4, a5, closure.Running);

    /// <summary>The u32 key of an inline array lookup at <paramref name="pc"/> (see <see cref="Compiler.LookupEmitter"/>), checked as the helper checks it.</summary>
    public static ulong LookupKey(IlClosure closure, RunState* state, int pc, ulong stackLow, ulong address) =>
        Execution.LookupKey.Read(state, closure.Program, pc, stackLow, closure.Options.HelperArgumentChecks, address);

    /// <summary>
    /// The lookup helper's result at <paramref name="pc"/>, from the map's lookup called directly (see
    /// <see cref="Helpers.DirectLookup"/>; the key checked as the helper checks it).
    /// </summary>
    public static ulong DirectLookup(IlClosure closure, int index, RunState* state, int pc, ulong stackLow, ulong key) =>
        Execution.LookupKey.Find(state, closure.Program, pc, stackLow, closure.Options.HelperArgumentChecks, key, closure.DirectLookups[index]);

    /// <summary>
    /// Checks the <paramref name="size"/> bytes of the key at <paramref name="key"/> of the lookup helper call at
    /// <paramref name="pc"/> as the helper checks them, for a lookup the code makes itself (see
    /// <see cref="Helpers.HashLookupLayout.Walk"/>).
    /// </summary>
    public static void CheckLookupKey(IlClosure closure, RunState* state, int pc, ulong stackLow, ulong key, int size) =>
        Execution.LookupKey.Check(state, closure.Program, pc, stackLow, check: true, key, (ulong)size);

    /// <summary>Calls the helper whose id a <c>callx</c> register holds; an unknown id is a run-time error.</summary>
    public static ulong CallX(
        IlClosure closure, ulong id, RunState* state, int pc, ulong stackLow, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        var helper = closure.CallxHelpers!.Resolve(id, closure.Program, pc);
        return CompiledProgram.InvokeHelper(
            helper, state, closure.Program, closure.Environment, closure.Options, pc, stackLow, a1, a2, a3, a4, a5, closure.Running);
    }

}
