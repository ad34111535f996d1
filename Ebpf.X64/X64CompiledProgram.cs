using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.X64.Abi;
using Ebpf.X64.Compiler;
using Ebpf.X64.Native;
using Ebpf.X64.Runtime;
using Iced.Intel;

namespace Ebpf.X64;

/// <summary>
/// A program compiled to x86-64 machine code by <see cref="X64Engine"/>. The code lives in its own read+execute mapping,
/// released by <see cref="CompiledProgram.Dispose()"/> once no run holds it; the mapping of a brief program (straight-line
/// code without calls, see <see cref="BriefCode"/>) is released when the disposed program has been garbage-collected,
/// since its runs take no lease. Thread-safe: each run has its own registers, stack and run block.
/// </summary>
public sealed unsafe partial class X64CompiledProgram : CompiledProgram, IMemoryCheckStatistics, ILoopGuardStatistics
{
    private readonly ExecutableMemory memory;
    private readonly HelperSite[] sites;
    private readonly int[] pcOffsets;
    private readonly int[] callbackOffsets;
    private readonly CallxTable? callxHelpers;
    private readonly nint entry;
    private readonly int checkedAccesses;
    private readonly int provenAccesses;
    private readonly LoopGuardCounts guards;

    /// <summary>
    /// True when the program's helper calls return to the host (see <see cref="HelperReturnAnalysis"/>): the code leaves
    /// with the call site and the address of its resume entry in two registers (<see cref="CodeExit"/>). Such code,
    /// too, is called without the GC transition: between two returns to the host it runs a bounded
    /// stretch (one pass over the program, or at most about <see cref="HelperReturnAnalysis.MaxStretch"/> slots where a
    /// loop calls no helper and yields, or where the code has local calls, which it counts and yields on), and the
    /// helpers run in the managed run method, not beneath native frames (code with local calls moves its native frames
    /// out of the way first, see <see cref="savesFrames"/>). Each
    /// return lands after a call the JIT follows with a GC poll (as after every call marked SuppressGCTransition), so a
    /// collection waits for the thread one stretch at most.
    /// </summary>
    private readonly bool helpersReturn;

    /// <summary>
    /// Per function of the program: true when it is brief as a callback (straight-line code without calls, see
    /// <see cref="BriefCode.IsBrief(EbpfProgram, FunctionInfo)"/>), so <see cref="ExecuteCallback"/> calls it without the GC
    /// transition, as <see cref="Execute"/> calls brief programs.
    /// </summary>
    private readonly bool[] briefFunctions;
    private GCHandle self;

    /// <summary><see cref="self"/> as the integer the run block carries (kept, so that a run reads one field).</summary>
    private readonly nint selfHandle;

    /// <summary>
    /// True when the code stays mapped until the program object is unreachable rather than until the last lease ends
    /// (see <see cref="Dispose(bool)"/>): the code of a brief program, whose runs take no lease, and code with a direct
    /// body, whose direct runs take none either (they keep the program reachable until the body has returned, see
    /// <c>CompiledProgram.CallNativeDirect</c>). A program with loops gets a direct body when it qualifies for the
    /// restartable direct entry (see <c>DirectEntry.QualifiesWithLoops</c>).
    /// </summary>
    private readonly bool mappedUntilCollected;

    /// <summary>Two frames in bytes: <see cref="RunBlock.CallLimit"/> is the stack start plus this.</summary>
    private readonly ulong twoFrames;

    /// <summary>
    /// The program is brief (<see cref="Execution.CompiledProgram.Brief"/>: short, calls nothing, runs for microseconds
    /// at most and never re-enters the runtime) or <see cref="helpersReturn"/> is set: the code is entered without the
    /// transition to preemptive GC mode (see <see cref="Execute"/>).
    /// </summary>
    private readonly bool withoutTransition;

    /// <summary>
    /// The run block's fields the code addresses, as a mask of its 8-byte words (bit <c>offset / 8</c>; see
    /// <see cref="BlockWords"/>): <see cref="Fill"/> writes only those of the per-run fields, since stores are what the
    /// per-run floor is made of (code without checked input accesses reads no input limit, code without a budget no budget).
    /// </summary>
    private readonly ulong blockWords;

    internal X64CompiledProgram(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options, INativeAbi abi, HelperLoopTiming helperLoops = HelperLoopTiming.WhenHot)
        : base(X64Engine.EngineName, program, environment, options, runLeases: true)
    {
        var helpers = HelperPlan.Create(program, environment, X64Engine.EngineName);
        var returnPlan = HelperReturnAnalysis.Plan(
            program,
            inline: pc => X64Compiler.IsInlineCall(program, environment, Options, helpers, pc) || X64Compiler.IsTailCallInCode(program, environment, helpers, pc),
            maxCallDepth: Options.MaxCallDepth);
        var (compiled, directBody) = DirectEligible || LoopDirectEligible
            ? X64Compiler.CompileWithDirect(program, environment, Options, helpers, abi, HelperDispatcher.Address, returnPlan, loops: LoopDirectEligible)
            : (X64Compiler.Compile(program, environment, Options, helpers, abi, HelperDispatcher.Address, returnPlan), null);
        sites = compiled.Sites;
        simpleFunctions = SimpleFunctions(sites);
        helperTargets = HelperTargets(sites);
        pcOffsets = compiled.PcOffsets;
        callbackOffsets = compiled.CallbackOffsets;
        checkedAccesses = compiled.CheckedAccesses;
        provenAccesses = compiled.ProvenAccesses;
        guards = compiled.Guards;
        callxHelpers = helpers.Callx;

        memory = ExecutableMemory.Create(WithDirectBody(compiled.Code, directBody, out directOffset));
        briefFunctions = [.. program.Functions.Select(function => BriefCode.IsBrief(program, function))];
        entry = memory.Address;
        helpersReturn = compiled.HelpersReturn;
        savesFrames = helpersReturn && returnPlan is { CountsCalls: true };
        self = GCHandle.Alloc(this, GCHandleType.Weak);
        selfHandle = GCHandle.ToIntPtr(self);
        twoFrames = 2 * (ulong)Options.StackSize;
        withoutTransition = Brief || helpersReturn;
        blockWords = BlockWords(compiled.Code);
        if (compiled.TailEntryOffset >= 0)
        {
            (descriptorStorage, descriptor) = CreateTailCallDescriptor(entry + compiled.TailEntryOffset, selfHandle, environment, Options, DirtyStackBytes);
        }

        mappedUntilCollected = Brief || directBody is not null;
        if (directBody is not null)
        {
            // The direct body sits in the same mapping, after the code; direct runs call it (see CompiledProgram.RunDirect).
            directPcOffsets = directBody.PcOffsets;
            UseDirectEntry(entry + directOffset);
        }

        if (helpersReturn)
        {
            PlanHelperLoop(helperLoops);
        }
    }

    /// <summary>
    /// The 8-byte words of the run block that <paramref name="code"/> addresses: every memory operand based on r12 (the
    /// register that holds the block for the whole run), read from the machine code itself, so that the mask follows
    /// whatever the compiler emits.
    /// </summary>
    internal static ulong BlockWords(byte[] code)
    {
        ulong words = 0;
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code), 0);
        while (decoder.IP < (ulong)code.Length)
        {
            decoder.Decode(out var instruction);
            for (int i = 0; i < instruction.OpCount; i++)
            {
                if (instruction.GetOpKind(i) == OpKind.Memory && instruction.MemoryBase == Register.R12)
                {
                    words |= 1UL << (int)(instruction.MemoryDisplacement64 / 8 % 64);
                }
            }
        }

        return words;
    }

    /// <summary>True when the code addresses the run block's word at <paramref name="offset"/> (see <see cref="blockWords"/>).</summary>
    private bool Uses(int offset) => (blockWords & (1UL << (offset / 8))) != 0;

    /// <summary>Releases the code mapping if the program was never disposed.</summary>
    ~X64CompiledProgram()
    {
        Dispose(false);
    }

    /// <inheritdoc />
    int IMemoryCheckStatistics.CheckedAccesses => checkedAccesses;

    /// <inheritdoc />
    int IMemoryCheckStatistics.ProvenAccesses => provenAccesses;

    /// <inheritdoc />
    int ILoopGuardStatistics.GuardedLoops => guards.Loops;

    /// <inheritdoc />
    int ILoopGuardStatistics.GuardedAccesses => guards.Accesses;

    /// <inheritdoc />
    int ILoopGuardStatistics.WholeRangeLoops => guards.WholeRangeLoops;

    /// <summary>The number of bytes of machine code.</summary>
    public int CodeSize => memory.CodeLength;

    /// <summary>The address of the first byte of the machine code (for debuggers and profilers).</summary>
    public nint CodeAddress => memory.Address;

    /// <summary>
    /// The disassembly of the generated machine code (Iced's NASM formatter), with each eBPF instruction as a comment
    /// before its translation; instructions compiled together (fused address arithmetic, a rotation spelled as shifts
    /// and an or) are listed together before their one translation; a program with a direct entry has its direct body
    /// listed after the code, under its own heading. For debugging; the text format is not a contract.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The program was disposed.</exception>
    public string GetListing()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var bytes = memory.Code.ToArray();
        var markers = new Dictionary<int, List<string>>();
        AddPcMarkers(markers, pcOffsets, 0);
        if (directPcOffsets is not null)
        {
            markers[directOffset] = ["; direct body (r1, r2 in registers; returns r0 and a fault word)"];
            AddPcMarkers(markers, directPcOffsets, directOffset);
        }

        var formatter = new NasmFormatter();
        formatter.Options.FirstOperandCharIndex = 8;
        var output = new StringOutput();
        var text = new StringBuilder();
        text.Append("; x64 code for ").Append(Program).Append(", ").Append(bytes.Length).Append(" bytes at 0x")
            .Append(((ulong)memory.Address).ToString("x", CultureInfo.InvariantCulture)).AppendLine();
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(bytes), 0);
        while (decoder.IP < (ulong)bytes.Length)
        {
            int offset = (int)decoder.IP;
            decoder.Decode(out var instruction);
            if (markers.TryGetValue(offset, out var lines))
            {
                foreach (string line in lines)
                {
                    text.AppendLine(line);
                }
            }

            formatter.Format(instruction, output);
            text.Append("  ").Append(offset.ToString("x5", CultureInfo.InvariantCulture)).Append("  ").Append(output.ToStringAndReset()).AppendLine();
        }

        return text.ToString();
    }

    /// <summary>Adds a comment line for each slot of <paramref name="offsets"/> (code offsets from <paramref name="start"/>) to the listing's <paramref name="markers"/>.</summary>
    private void AddPcMarkers(Dictionary<int, List<string>> markers, int[] offsets, int start)
    {
        for (int pc = 0; pc < offsets.Length; pc++)
        {
            if (offsets[pc] >= 0)
            {
                if (!markers.TryGetValue(start + offsets[pc], out var list))
                {
                    markers[start + offsets[pc]] = list = [];
                }

                list.Add($"; pc {pc}: {Program.Instructions[pc]}");
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The run block is not zeroed (288 bytes per run): every field the generated code or this method reads before the
    /// code writes it is set here (of the per-run fields, only those the code addresses); the others (saved stack pointer, helper arguments, call frame, callx id, loop guards' limit, error
    /// details) are written by the code before they are read. The block is never in memory a program can address.
    /// </remarks>
    [SkipLocalsInit]
    private protected override ulong Execute(ref RunState state)
    {
        Unsafe.SkipInit(out RunBlock block);
        Fill(ref block, ref state);

        // Code that runs briefly and never calls back is called like an intrinsic, without switching the thread to
        // preemptive mode and back (a GC waits for it, as for any managed code, for at most microseconds); so is code
        // whose helper calls return here (it runs briefly between two returns, and the helper runs in this method, with
        // only managed frames beneath it); any other code may run long or call helpers (managed code, entered through
        // the dispatcher beneath native frames), so it is called with the transition.
        ulong r0 = helpersReturn
            ? RunWithHelperReturns(&block)
            : withoutTransition
                ? ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)entry)(&block)
                : CallWithTransition(entry, &block);
        return Finish(ref state, ref block, r0);
    }

    /// <inheritdoc />
    /// <remarks>
    /// No lease and no store for one: the code of a brief program is unmapped only once the program object is
    /// unreachable (<see cref="Dispose(bool)"/> leaves the mapping to its finalizer), and this frame keeps the program
    /// reachable until the code has returned (<see cref="Finish"/> ends in <see cref="GC.KeepAlive(object?)"/>). So a
    /// run that passed the disposed check runs on mapped code even when another thread disposes the program meanwhile,
    /// and the check, the block's fill and the call are all a run costs besides the code. Nothing here can throw but the
    /// check and <see cref="Finish"/>, so the run needs no exception handler.
    /// </remarks>
    [SkipLocalsInit]
    private protected override ulong ExecuteBrief(RunStack stack)
    {
        if (IsDisposed)
        {
            ThrowDisposed();
        }

        ref RunState state = ref *stack.State;
        Unsafe.SkipInit(out RunBlock block);
        Fill(ref block, ref state);
        ulong r0 = ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)entry)(&block);
        return Finish(ref state, ref block, r0);
    }

    /// <inheritdoc />
    /// <remarks>The callback is entered through its own entry in the code (see <c>X64Compiler.EmitCallbackEntries</c>)
    /// with a run block of its own: r1-r5 in the helper arguments, the frame top in the call frame.</remarks>
    [SkipLocalsInit]
    private protected override ulong ExecuteCallback(ref RunState state, int function, ulong frameTop, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        Unsafe.SkipInit(out RunBlock block);
        Fill(ref block, ref state);
        block.Arg1 = a1;
        block.Arg2 = a2;
        block.Arg3 = a3;
        block.Arg4 = a4;
        block.Arg5 = a5;
        block.CallFrame = frameTop;
        nint code = entry + callbackOffsets[function];
        ulong r0 = briefFunctions[function]
            ? ((delegate* unmanaged[SuppressGCTransition]<RunBlock*, ulong>)code)(&block)
            : CallWithTransition(code, &block);
        return Finish(ref state, ref block, r0);
    }

    /// <summary>Sets every field of the run block the code reads before it writes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Fill(ref RunBlock block, ref RunState state)
    {
        block.Status = (int)RunStatus.Completed;
        block.State = (RunState*)Unsafe.AsPointer(ref state);
        block.Program = selfHandle;
        block.StackEnd = state.StackEnd;
        block.ContextAddress = state.ContextAddress;
        block.ContextLength = state.ContextLength;
        if ((blockWords & RegionWords) != 0)
        {
            FillRegions(ref block, state.InputAddress, state.InputLength, state.MetadataAddress, state.MetadataLength, state.Regions, state.RegionCount);
        }

        if ((blockWords & LimitWords) != 0)
        {
            FillLimits(ref block, state.InputLength);
        }

        if (Uses(RunBlock.CallLimitOffset))
        {
            block.CallLimit = state.StackStart + twoFrames;
        }

        if (Uses(RunBlock.BudgetOffset))
        {
            block.Budget = state.BudgetRemaining;
        }
    }

    /// <summary>The words of the run's regions in the block: input, metadata and the environment's table.</summary>
    private const ulong RegionWords =
        (1UL << (RunBlock.InputStartOffset / 8)) | (1UL << (RunBlock.InputLengthOffset / 8)) | (1UL << (RunBlock.MetadataStartOffset / 8))
        | (1UL << (RunBlock.MetadataLengthOffset / 8)) | (1UL << (RunBlock.RegionsOffset / 8)) | (1UL << (RunBlock.RegionCountOffset / 8));

    /// <summary>The words of the four input limits in the block.</summary>
    private const ulong LimitWords = 0xFUL << (RunBlock.InputLimitOffset / 8);

    /// <summary>Writes the input limits the code reads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FillLimits(ref RunBlock block, ulong length)
    {
        if (Uses(RunBlock.InputLimitOffset))
        {
            block.InputLimit1 = MemoryGuard.Limit(length, 1);
        }

        if (Uses(RunBlock.InputLimitOffset + 8))
        {
            block.InputLimit2 = MemoryGuard.Limit(length, 2);
        }

        if (Uses(RunBlock.InputLimitOffset + 16))
        {
            block.InputLimit4 = MemoryGuard.Limit(length, 4);
        }

        if (Uses(RunBlock.InputLimitOffset + 24))
        {
            block.InputLimit8 = MemoryGuard.Limit(length, 8);
        }
    }

    /// <summary>Ends a call into the code: the budget back to the run state, r0 or the error the block reports.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Finish(ref RunState state, ref RunBlock block, ulong r0)
    {
        GC.KeepAlive(this);
        if (Uses(RunBlock.BudgetOffset))
        {
            state.BudgetRemaining = block.Budget;
        }

        return (RunStatus)block.Status switch
        {
            RunStatus.Completed or RunStatus.Stopped => r0,
            _ => throw Failure(ref state, ref block),
        };
    }

    /// <summary>
    /// Calls code that may run long or call back with the transition to preemptive GC mode. A method of its own: a
    /// method with such a call sets up the runtime's inlined call frame in its prologue (a few nanoseconds), which the
    /// brief path of <see cref="Execute"/> then does not pay.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong CallWithTransition(nint code, RunBlock* block) => ((delegate* unmanaged<RunBlock*, ulong>)code)(block);

    /// <summary>Called by the dispatcher for helper call site <paramref name="siteIndex"/>.</summary>
    internal ulong CallHelper(RunBlock* block, int siteIndex)
    {
        var site = sites[siteIndex];
        if (site.Lookup is { } lookup)
        {
            // The lookup helper's map, looked up directly: the helper's key check; it cannot stop the run. A run
            // cancelled meanwhile stops here, as after any helper call: code whose helper calls return to the host has no
            // poll on loops that pass a call (see X64Compiler.EmitPollBeforeBackwardJump).
            ulong found = LookupKey.Find(block->State, Program, site.Pc, block->CallFrame - (ulong)Options.StackSize, Options.HelperArgumentChecks, block->Arg2, lookup);
            if (Volatile.Read(ref block->State->CancelRequested) != 0)
            {
                throw CancelledAtSite(siteIndex, block->State);
            }

            return found;
        }

        var helper = site.Helper ?? callxHelpers!.Resolve(block->CallxId, Program, site.Pc);

        // A helper that calls back runs the callbacks on the budget: it goes to the run state and back (when the code
        // counts one; otherwise the state's budget is the run's own, untouched by the code).
        bool callsBack = helper.CallsBack && Uses(RunBlock.BudgetOffset);
        if (callsBack)
        {
            block->State->BudgetRemaining = block->Budget;
        }

        ulong result = InvokeHelper(
            helper, block->State, Program, Environment, Options, site.Pc, block->CallFrame - (ulong)Options.StackSize,
            block->Arg1, block->Arg2, block->Arg3, block->Arg4, block->Arg5, this);
        if (callsBack)
        {
            block->Budget = block->State->BudgetRemaining;
        }

        if (block->State->StopRequested != 0)
        {
            block->Status = (int)RunStatus.Stopped;
            return block->State->StopValue;
        }

        return result;
    }

    private Exception Failure(ref RunState state, ref RunBlock block)
    {
        if (block.Program != selfHandle)
        {
            // The run ended in a tail call's target, entered by a jump: its error, at its pc.
            return Running(block.Program).Failure(ref state, ref block);
        }

        switch ((RunStatus)block.Status)
        {
            case RunStatus.HelperFailed:
                var pending = HelperDispatcher.TakePending();
                pending?.Throw();
                return new InvalidOperationException("a helper call failed without an exception");
            case RunStatus.MemoryViolation:
            {
                var (pc, size, access) = ViolationSite(block.ErrorInfo);
                return MemoryGuard.Violation(Program, pc, ref state, block.ErrorAddress, size, access, block.ErrorFrame - (ulong)Options.StackSize);
            }

            case RunStatus.BudgetExceeded:
            {
                // The block at the leader could not complete: the instruction that exceeds the budget is the one after the
                // instructions the budget still allowed.
                var segments = Program.Analysis.Segments(Options.MemoryChecks);
                int pc = segments.FailingPc(block.ErrorInfo, block.Budget + segments.LengthAt(block.ErrorInfo));
                return new EbpfBudgetExceededException(pc, Program.Instructions[pc], Options.InstructionBudget ?? 0);
            }

            case RunStatus.Cancelled:
                return CancelledAt(Program, block.ErrorInfo, ref state);
            case RunStatus.CallDepthExceeded:
                return new EbpfCallDepthExceededException(block.ErrorInfo, Program.Instructions[block.ErrorInfo], Options.MaxCallDepth);
            default:
                return new InvalidOperationException($"x64 code ended with unknown status {block.Status}");
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The code of a brief program stays mapped until the program object is unreachable: its plain runs take no lease
    /// (see <see cref="ExecuteBrief"/>), so no count or slot can tell that no thread is about to enter it, but the
    /// garbage collector can; so does code with a direct body (see <see cref="mappedUntilCollected"/>). The mapping's own finalizer (<see cref="ExecutableMemory"/>, a critical one) unmaps it
    /// then; every other program's code is unmapped here, when the last lease has ended.
    /// </remarks>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !mappedUntilCollected)
        {
            ReleaseCode();
        }

        if (self.IsAllocated)
        {
            self.Free();
        }

        base.Dispose(disposing);
    }
}
