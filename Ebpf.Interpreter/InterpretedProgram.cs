using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ebpf.Analysis;
using Ebpf.Diagnostics;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf.Interpreter;

/// <summary>
/// A program prepared for the interpreter: the pre-decoded slots, the helpers its calls name, and a snapshot of the
/// helper table for <c>callx</c>. <see cref="Execute"/> is one dispatch loop over the decoded form; every memory access
/// is checked whatever the options say, except the loads and stores the safety analysis proves in bounds
/// (<see cref="CheckPlan"/>). It runs under an <see cref="IInstructionObserver"/> too: the loop is generic
/// over its per-instruction hook, and the unobserved copy has none. It is generic over the kind of run as well
/// (<see cref="IRunKind"/>): a program that qualifies for the direct entry (<see cref="DirectEntry"/>) gets a copy with no
/// budget count, no call frames and a check against the input only.
/// </summary>
internal sealed unsafe class InterpretedProgram : CompiledProgram, IObservableProgram, IMemoryCheckStatistics
{
    /// <summary>Per frame of a local call: the return address (a decoded-instruction pointer), r6..r9 and r10 of the caller.</summary>
    private const int FrameSlots = 6;

    /// <summary>The decoded slots, allocated pinned by <see cref="Decoder"/>: <see cref="codeStart"/> stays valid while this object lives.</summary>
    private readonly DecodedInstruction[] code;
    private readonly DecodedInstruction* codeStart;
    private readonly Helper[] helpers;
    private readonly CallxTable? callxHelpers;

    public InterpretedProgram(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options)
        : base(InterpreterEngine.EngineName, program, environment, options)
    {
        var plan = HelperPlan.Create(program, environment, InterpreterEngine.EngineName);
        var checks = CheckPlan.Create(program, environment, Options);
        code = Decoder.Decode(program, environment, plan, checks);
        CheckedAccesses = code.Count(d => d.Op is (>= Op.LdxB and <= Op.StxDW) or Op.Atomic32 or Op.Atomic64);
        ProvenAccesses = code.Count(d => d.Op is >= Op.LdxBProven and <= Op.StxDWProven);
        codeStart = (DecodedInstruction*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(code));
        helpers = [.. plan.Helpers];
        callxHelpers = plan.Callx;
        if (DirectEligible)
        {
            directFrame = DirectEntry.FrameBytes(program, Options);
            UseDirectEntry(directFrame == 0 ? ExecuteDirect : ExecuteDirectWithFrame);
        }
    }

    /// <summary>The bytes of frame a direct run allocates (see <see cref="DirectEntry.FrameBytes"/>); 0 when the program names no r10.</summary>
    private readonly int directFrame;

    /// <inheritdoc />
    public int CheckedAccesses { get; }

    /// <inheritdoc />
    public int ProvenAccesses { get; }

    /// <inheritdoc />
    public ulong Run(Span<byte> memory, Span<byte> metadata, IInstructionObserver observer) => RunObserved(memory, metadata, observer);

    /// <inheritdoc />
    private protected override ulong Execute(ref RunState state) =>
        Dispatch(ref state, codeStart, state.StackEnd, 0, state.ContextAddress, state.ContextLength, 0, 0, 0);

    /// <inheritdoc />
    /// <remarks>The callback re-enters the dispatch loop at the function's first slot on the same run state, with a
    /// register file of its own and its frame's depth as the depth its <c>exit</c> returns from.</remarks>
    private protected override ulong ExecuteCallback(ref RunState state, int function, ulong frameTop, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
    {
        int depth = (int)((state.StackEnd - frameTop) / (ulong)Options.StackSize);
        return Dispatch(ref state, codeStart + Program.Functions[function].Start, frameTop, depth, a1, a2, a3, a4, a5);
    }

    private ulong Dispatch(ref RunState state, DecodedInstruction* entry, ulong frameTop, int depth, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5) =>
        state.Observer == 0
            ? Execute<NoHook, PlainRun>(ref state, default, entry, frameTop, depth, a1, a2, a3, a4, a5)
            : Execute<ObserverHook, PlainRun>(ref state, new ObserverHook((IInstructionObserver)GCHandle.FromIntPtr(state.Observer).Target!), entry, frameTop, depth, a1, a2, a3, a4, a5);

    /// <summary>
    /// The direct entry (see <see cref="CompiledProgram"/>'s <c>UseDirectEntry</c>): the dispatch loop's direct copy
    /// (<see cref="DirectRun"/>) on a run state of which only the input is set: the loop reads nothing else of it, and a
    /// failed check throws <see cref="CompiledProgram.DirectViolation"/> with the plain run's pc and message. Optimized
    /// from its first call, as the shared direct-run path that calls it is.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ulong ExecuteDirect(ulong r1, ulong r2) => RunDirectCopy(r1, r2, 0);

    /// <summary>
    /// <see cref="ExecuteDirect"/> for a program that reaches a frame through r10 (<see cref="directFrame"/> bytes, see
    /// <see cref="DirectEntry.FrameBytes"/>): the frame is the run's own, on this method's stack, zeroed, so a run starts
    /// on zeros as on the stack area. A method of its own, so that the entry of the programs without a frame has no
    /// <c>stackalloc</c> (and its stack-buffer cookie) to pay for.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ulong ExecuteDirectWithFrame(ulong r1, ulong r2)
    {
        byte* frame = stackalloc byte[directFrame];
        new Span<byte>(frame, directFrame).Clear();
        return RunDirectCopy(r1, r2, (ulong)(frame + directFrame));
    }

    /// <summary>The dispatch loop's direct copy on a run state of which only the input is set, with r10 <paramref name="frameTop"/>.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong RunDirectCopy(ulong r1, ulong r2, ulong frameTop)
    {
        Unsafe.SkipInit(out RunState input);
        input.InputAddress = r1;
        input.InputLength = r2;
        return Execute<NoHook, DirectRun>(ref input, default, codeStart, frameTop, 0, r1, r2, 0, 0, 0);
    }

    // The call frames are written before they are read, so only the registers need zeroing. A run starts at slot 0 with
    // depth 0; a callback at its function with the depth of its frame (its exit at that depth returns). A direct run
    // (TRun) has no call frames, no budget and no stack area: r10 is the top of the frame of its own ExecuteDirect
    // gives it (directFrame bytes, see DirectEntry.FrameBytes), or 0 when it names no r10.
    [SkipLocalsInit]
    private ulong Execute<THook, TRun>(ref RunState state, THook hook, DecodedInstruction* entry, ulong frameTop, int baseDepth, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5)
        where THook : struct, IExecutionHook
        where TRun : struct, IRunKind
    {
        ulong* r = stackalloc ulong[11];
        new Span<ulong>(r, 11).Clear();
        int maxDepth = TRun.Direct ? 0 : Options.MaxCallDepth;
        ulong* frames = stackalloc ulong[maxDepth * FrameSlots];
        ulong stackSize = TRun.Direct ? (ulong)directFrame : (ulong)Options.StackSize;
        RunState* statePointer = (RunState*)Unsafe.AsPointer(ref state);

        r[1] = a1;
        r[2] = a2;
        r[10] = frameTop;
        if (!TRun.Direct)
        {
            r[3] = a3;
            r[4] = a4;
            r[5] = a5;
        }

        ulong stackLow = frameTop - stackSize;
        long budget = TRun.Direct ? 0 : state.BudgetRemaining;
        // A run that can be cancelled gets its budget in slices; the rest waits in the reserve, and the cancellation
        // flag is read when a slice runs out, so the loop below stays as it is.
        long reserve = 0;
        if (!TRun.Direct && state.Cancellable != 0 && budget > CancellationSlice)
        {
            reserve = budget - CancellationSlice;
            budget = CancellationSlice;
        }

        int depth = baseDepth;
        DecodedInstruction* start = codeStart; // the decoded array is pinned: its address never changes
        DecodedInstruction* ins = entry;

        while (true)
        {
            if (!TRun.Direct && --budget < 0)
            {
                budget = NextSlice(ref state, ref reserve, PcOf(ins));
            }

            if (THook.Enabled)
            {
                hook.Before(Program, PcOf(ins), depth, r, ref state);
            }

            switch (ins->Op)
            {
                // ALU64
                case Op.Add64Imm: r[ins->Dst] += (ulong)ins->Imm; ins++; continue;
                case Op.Add64Reg: r[ins->Dst] += r[ins->Src]; ins++; continue;
                case Op.Sub64Imm: r[ins->Dst] -= (ulong)ins->Imm; ins++; continue;
                case Op.Sub64Reg: r[ins->Dst] -= r[ins->Src]; ins++; continue;
                case Op.Mul64Imm: r[ins->Dst] *= (ulong)ins->Imm; ins++; continue;
                case Op.Mul64Reg: r[ins->Dst] *= r[ins->Src]; ins++; continue;
                case Op.Div64Imm: r[ins->Dst] = Alu.Div64(r[ins->Dst], (ulong)ins->Imm); ins++; continue;
                case Op.Div64Reg: r[ins->Dst] = Alu.Div64(r[ins->Dst], r[ins->Src]); ins++; continue;
                case Op.SDiv64Imm: r[ins->Dst] = Alu.SDiv64(r[ins->Dst], (ulong)ins->Imm); ins++; continue;
                case Op.SDiv64Reg: r[ins->Dst] = Alu.SDiv64(r[ins->Dst], r[ins->Src]); ins++; continue;
                case Op.Mod64Imm: r[ins->Dst] = Alu.Mod64(r[ins->Dst], (ulong)ins->Imm); ins++; continue;
                case Op.Mod64Reg: r[ins->Dst] = Alu.Mod64(r[ins->Dst], r[ins->Src]); ins++; continue;
                case Op.SMod64Imm: r[ins->Dst] = Alu.SMod64(r[ins->Dst], (ulong)ins->Imm); ins++; continue;
                case Op.SMod64Reg: r[ins->Dst] = Alu.SMod64(r[ins->Dst], r[ins->Src]); ins++; continue;
                case Op.Or64Imm: r[ins->Dst] |= (ulong)ins->Imm; ins++; continue;
                case Op.Or64Reg: r[ins->Dst] |= r[ins->Src]; ins++; continue;
                case Op.And64Imm: r[ins->Dst] &= (ulong)ins->Imm; ins++; continue;
                case Op.And64Reg: r[ins->Dst] &= r[ins->Src]; ins++; continue;
                case Op.Xor64Imm: r[ins->Dst] ^= (ulong)ins->Imm; ins++; continue;
                case Op.Xor64Reg: r[ins->Dst] ^= r[ins->Src]; ins++; continue;
                case Op.Lsh64Imm: r[ins->Dst] <<= (int)ins->Imm; ins++; continue;
                case Op.Lsh64Reg: r[ins->Dst] <<= (int)(r[ins->Src] & 63); ins++; continue;
                case Op.Rsh64Imm: r[ins->Dst] >>= (int)ins->Imm; ins++; continue;
                case Op.Rsh64Reg: r[ins->Dst] >>= (int)(r[ins->Src] & 63); ins++; continue;
                case Op.Arsh64Imm: r[ins->Dst] = (ulong)((long)r[ins->Dst] >> (int)ins->Imm); ins++; continue;
                case Op.Arsh64Reg: r[ins->Dst] = (ulong)((long)r[ins->Dst] >> (int)(r[ins->Src] & 63)); ins++; continue;
                case Op.Neg64: r[ins->Dst] = (ulong)-(long)r[ins->Dst]; ins++; continue;
                case Op.Mov64Imm: r[ins->Dst] = (ulong)ins->Imm; ins++; continue;
                case Op.Mov64Reg: r[ins->Dst] = r[ins->Src]; ins++; continue;
                case Op.MovSx64B: r[ins->Dst] = (ulong)(long)(sbyte)r[ins->Src]; ins++; continue;
                case Op.MovSx64H: r[ins->Dst] = (ulong)(long)(short)r[ins->Src]; ins++; continue;
                case Op.MovSx64W: r[ins->Dst] = (ulong)(long)(int)r[ins->Src]; ins++; continue;

                // ALU32: results zero-extended
                case Op.Add32Imm: r[ins->Dst] = (uint)r[ins->Dst] + (uint)ins->Imm; ins++; continue;
                case Op.Add32Reg: r[ins->Dst] = (uint)r[ins->Dst] + (uint)r[ins->Src]; ins++; continue;
                case Op.Sub32Imm: r[ins->Dst] = (uint)r[ins->Dst] - (uint)ins->Imm; ins++; continue;
                case Op.Sub32Reg: r[ins->Dst] = (uint)r[ins->Dst] - (uint)r[ins->Src]; ins++; continue;
                case Op.Mul32Imm: r[ins->Dst] = (uint)r[ins->Dst] * (uint)ins->Imm; ins++; continue;
                case Op.Mul32Reg: r[ins->Dst] = (uint)r[ins->Dst] * (uint)r[ins->Src]; ins++; continue;
                case Op.Div32Imm: r[ins->Dst] = Alu.Div32((uint)r[ins->Dst], (uint)ins->Imm); ins++; continue;
                case Op.Div32Reg: r[ins->Dst] = Alu.Div32((uint)r[ins->Dst], (uint)r[ins->Src]); ins++; continue;
                case Op.SDiv32Imm: r[ins->Dst] = Alu.SDiv32((uint)r[ins->Dst], (uint)ins->Imm); ins++; continue;
                case Op.SDiv32Reg: r[ins->Dst] = Alu.SDiv32((uint)r[ins->Dst], (uint)r[ins->Src]); ins++; continue;
                case Op.Mod32Imm: r[ins->Dst] = Alu.Mod32((uint)r[ins->Dst], (uint)ins->Imm); ins++; continue;
                case Op.Mod32Reg: r[ins->Dst] = Alu.Mod32((uint)r[ins->Dst], (uint)r[ins->Src]); ins++; continue;
                case Op.SMod32Imm: r[ins->Dst] = Alu.SMod32((uint)r[ins->Dst], (uint)ins->Imm); ins++; continue;
                case Op.SMod32Reg: r[ins->Dst] = Alu.SMod32((uint)r[ins->Dst], (uint)r[ins->Src]); ins++; continue;
                case Op.Or32Imm: r[ins->Dst] = (uint)r[ins->Dst] | (uint)ins->Imm; ins++; continue;
                case Op.Or32Reg: r[ins->Dst] = (uint)r[ins->Dst] | (uint)r[ins->Src]; ins++; continue;
                case Op.And32Imm: r[ins->Dst] = (uint)r[ins->Dst] & (uint)ins->Imm; ins++; continue;
                case Op.And32Reg: r[ins->Dst] = (uint)r[ins->Dst] & (uint)r[ins->Src]; ins++; continue;
                case Op.Xor32Imm: r[ins->Dst] = (uint)r[ins->Dst] ^ (uint)ins->Imm; ins++; continue;
                case Op.Xor32Reg: r[ins->Dst] = (uint)r[ins->Dst] ^ (uint)r[ins->Src]; ins++; continue;
                case Op.Lsh32Imm: r[ins->Dst] = (uint)r[ins->Dst] << (int)ins->Imm; ins++; continue;
                case Op.Lsh32Reg: r[ins->Dst] = (uint)r[ins->Dst] << (int)(r[ins->Src] & 31); ins++; continue;
                case Op.Rsh32Imm: r[ins->Dst] = (uint)r[ins->Dst] >> (int)ins->Imm; ins++; continue;
                case Op.Rsh32Reg: r[ins->Dst] = (uint)r[ins->Dst] >> (int)(r[ins->Src] & 31); ins++; continue;
                case Op.Arsh32Imm: r[ins->Dst] = (uint)((int)r[ins->Dst] >> (int)ins->Imm); ins++; continue;
                case Op.Arsh32Reg: r[ins->Dst] = (uint)((int)r[ins->Dst] >> (int)(r[ins->Src] & 31)); ins++; continue;
                case Op.Neg32: r[ins->Dst] = (uint)-(int)r[ins->Dst]; ins++; continue;
                case Op.Mov32Imm: r[ins->Dst] = (uint)ins->Imm; ins++; continue;
                case Op.Mov32Reg: r[ins->Dst] = (uint)r[ins->Src]; ins++; continue;
                case Op.MovSx32B: r[ins->Dst] = (uint)(int)(sbyte)r[ins->Src]; ins++; continue;
                case Op.MovSx32H: r[ins->Dst] = (uint)(int)(short)r[ins->Src]; ins++; continue;

                // Byte swaps (the host is little-endian)
                case Op.ZeroExtend16: r[ins->Dst] = (ushort)r[ins->Dst]; ins++; continue;
                case Op.ZeroExtend32: r[ins->Dst] = (uint)r[ins->Dst]; ins++; continue;
                case Op.Nop: ins++; continue;
                case Op.Swap16: r[ins->Dst] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)r[ins->Dst]); ins++; continue;
                case Op.Swap32: r[ins->Dst] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)r[ins->Dst]); ins++; continue;
                case Op.Swap64: r[ins->Dst] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(r[ins->Dst]); ins++; continue;

                // Jumps
                case Op.Ja: ins = start + ins->Target; continue;
                case Op.JeqImm: ins = r[ins->Dst] == (ulong)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JeqReg: ins = r[ins->Dst] == r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.JgtImm: ins = r[ins->Dst] > (ulong)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JgtReg: ins = r[ins->Dst] > r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.JgeImm: ins = r[ins->Dst] >= (ulong)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JgeReg: ins = r[ins->Dst] >= r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.JsetImm: ins = (r[ins->Dst] & (ulong)ins->Imm) != 0 ? start + ins->Target : ins + 1; continue;
                case Op.JsetReg: ins = (r[ins->Dst] & r[ins->Src]) != 0 ? start + ins->Target : ins + 1; continue;
                case Op.JneImm: ins = r[ins->Dst] != (ulong)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JneReg: ins = r[ins->Dst] != r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.JsgtImm: ins = (long)r[ins->Dst] > ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JsgtReg: ins = (long)r[ins->Dst] > (long)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.JsgeImm: ins = (long)r[ins->Dst] >= ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JsgeReg: ins = (long)r[ins->Dst] >= (long)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.JltImm: ins = r[ins->Dst] < (ulong)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JltReg: ins = r[ins->Dst] < r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.JleImm: ins = r[ins->Dst] <= (ulong)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JleReg: ins = r[ins->Dst] <= r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.JsltImm: ins = (long)r[ins->Dst] < ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JsltReg: ins = (long)r[ins->Dst] < (long)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.JsleImm: ins = (long)r[ins->Dst] <= ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.JsleReg: ins = (long)r[ins->Dst] <= (long)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jeq32Imm: ins = (uint)r[ins->Dst] == (uint)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jeq32Reg: ins = (uint)r[ins->Dst] == (uint)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jgt32Imm: ins = (uint)r[ins->Dst] > (uint)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jgt32Reg: ins = (uint)r[ins->Dst] > (uint)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jge32Imm: ins = (uint)r[ins->Dst] >= (uint)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jge32Reg: ins = (uint)r[ins->Dst] >= (uint)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jset32Imm: ins = ((uint)r[ins->Dst] & (uint)ins->Imm) != 0 ? start + ins->Target : ins + 1; continue;
                case Op.Jset32Reg: ins = ((uint)r[ins->Dst] & (uint)r[ins->Src]) != 0 ? start + ins->Target : ins + 1; continue;
                case Op.Jne32Imm: ins = (uint)r[ins->Dst] != (uint)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jne32Reg: ins = (uint)r[ins->Dst] != (uint)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jsgt32Imm: ins = (int)r[ins->Dst] > (int)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jsgt32Reg: ins = (int)r[ins->Dst] > (int)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jsge32Imm: ins = (int)r[ins->Dst] >= (int)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jsge32Reg: ins = (int)r[ins->Dst] >= (int)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jlt32Imm: ins = (uint)r[ins->Dst] < (uint)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jlt32Reg: ins = (uint)r[ins->Dst] < (uint)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jle32Imm: ins = (uint)r[ins->Dst] <= (uint)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jle32Reg: ins = (uint)r[ins->Dst] <= (uint)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jslt32Imm: ins = (int)r[ins->Dst] < (int)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jslt32Reg: ins = (int)r[ins->Dst] < (int)r[ins->Src] ? start + ins->Target : ins + 1; continue;
                case Op.Jsle32Imm: ins = (int)r[ins->Dst] <= (int)ins->Imm ? start + ins->Target : ins + 1; continue;
                case Op.Jsle32Reg: ins = (int)r[ins->Dst] <= (int)r[ins->Src] ? start + ins->Target : ins + 1; continue;

                // Loads and stores, each access checked in full
                case Op.Lddw: r[ins->Dst] = (ulong)ins->Imm; ins += 2; continue;
                case Op.LdxB: r[ins->Dst] = *(byte*)Check<TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Read, stackLow, ins); ins++; continue;
                case Op.LdxH: r[ins->Dst] = Unsafe.ReadUnaligned<ushort>((void*)Check<TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.LdxW: r[ins->Dst] = Unsafe.ReadUnaligned<uint>((void*)Check<TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.LdxDW: r[ins->Dst] = Unsafe.ReadUnaligned<ulong>((void*)Check<TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.LdxsB: r[ins->Dst] = (ulong)(long)*(sbyte*)Check<TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Read, stackLow, ins); ins++; continue;
                case Op.LdxsH: r[ins->Dst] = (ulong)(long)Unsafe.ReadUnaligned<short>((void*)Check<TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.LdxsW: r[ins->Dst] = (ulong)(long)Unsafe.ReadUnaligned<int>((void*)Check<TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.StB: *(byte*)Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Write, stackLow, ins) = (byte)ins->Imm; ins++; continue;
                case Op.StH: Unsafe.WriteUnaligned((void*)Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Write, stackLow, ins), (ushort)ins->Imm); ins++; continue;
                case Op.StW: Unsafe.WriteUnaligned((void*)Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Write, stackLow, ins), (uint)ins->Imm); ins++; continue;
                case Op.StDW: Unsafe.WriteUnaligned((void*)Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Write, stackLow, ins), (ulong)ins->Imm); ins++; continue;
                case Op.StxB: *(byte*)Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Write, stackLow, ins) = (byte)r[ins->Src]; ins++; continue;
                case Op.StxH: Unsafe.WriteUnaligned((void*)Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Write, stackLow, ins), (ushort)r[ins->Src]); ins++; continue;
                case Op.StxW: Unsafe.WriteUnaligned((void*)Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Write, stackLow, ins), (uint)r[ins->Src]); ins++; continue;
                case Op.StxDW: Unsafe.WriteUnaligned((void*)Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Write, stackLow, ins), r[ins->Src]); ins++; continue;

                // Loads and stores the safety analysis proves in bounds: no check (unless an observer, which may change
                // registers and memory, watches the run)
                case Op.LdxBProven: r[ins->Dst] = *(byte*)Proven<THook, TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Read, stackLow, ins); ins++; continue;
                case Op.LdxHProven: r[ins->Dst] = Unsafe.ReadUnaligned<ushort>((void*)Proven<THook, TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.LdxWProven: r[ins->Dst] = Unsafe.ReadUnaligned<uint>((void*)Proven<THook, TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.LdxDWProven: r[ins->Dst] = Unsafe.ReadUnaligned<ulong>((void*)Proven<THook, TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.LdxsBProven: r[ins->Dst] = (ulong)(long)*(sbyte*)Proven<THook, TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Read, stackLow, ins); ins++; continue;
                case Op.LdxsHProven: r[ins->Dst] = (ulong)(long)Unsafe.ReadUnaligned<short>((void*)Proven<THook, TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.LdxsWProven: r[ins->Dst] = (ulong)(long)Unsafe.ReadUnaligned<int>((void*)Proven<THook, TRun>(ref state, r[ins->Src] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Read, stackLow, ins)); ins++; continue;
                case Op.StBProven: *(byte*)Proven<THook, TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Write, stackLow, ins) = (byte)ins->Imm; ins++; continue;
                case Op.StHProven: Unsafe.WriteUnaligned((void*)Proven<THook, TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Write, stackLow, ins), (ushort)ins->Imm); ins++; continue;
                case Op.StWProven: Unsafe.WriteUnaligned((void*)Proven<THook, TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Write, stackLow, ins), (uint)ins->Imm); ins++; continue;
                case Op.StDWProven: Unsafe.WriteUnaligned((void*)Proven<THook, TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Write, stackLow, ins), (ulong)ins->Imm); ins++; continue;
                case Op.StxBProven: *(byte*)Proven<THook, TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Write, stackLow, ins) = (byte)r[ins->Src]; ins++; continue;
                case Op.StxHProven: Unsafe.WriteUnaligned((void*)Proven<THook, TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Write, stackLow, ins), (ushort)r[ins->Src]); ins++; continue;
                case Op.StxWProven: Unsafe.WriteUnaligned((void*)Proven<THook, TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Write, stackLow, ins), (uint)r[ins->Src]); ins++; continue;
                case Op.StxDWProven: Unsafe.WriteUnaligned((void*)Proven<THook, TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Write, stackLow, ins), r[ins->Src]); ins++; continue;
                case Op.Atomic32:
                    Atomics.Execute(Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Write, stackLow, ins), ins, r, wide: false);
                    ins++;
                    continue;
                case Op.Atomic64:
                    Atomics.Execute(Check<TRun>(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Write, stackLow, ins), ins, r, wide: true);
                    ins++;
                    continue;

                // Legacy packet loads: input region only, little-endian, zero-extended into r0
                case Op.LdAbsB: r[0] = *(byte*)CheckPacket(ref state, (ulong)ins->Imm, 1, stackLow, ins); ins++; continue;
                case Op.LdAbsH: r[0] = Unsafe.ReadUnaligned<ushort>((void*)CheckPacket(ref state, (ulong)ins->Imm, 2, stackLow, ins)); ins++; continue;
                case Op.LdAbsW: r[0] = Unsafe.ReadUnaligned<uint>((void*)CheckPacket(ref state, (ulong)ins->Imm, 4, stackLow, ins)); ins++; continue;
                case Op.LdAbsDW: r[0] = Unsafe.ReadUnaligned<ulong>((void*)CheckPacket(ref state, (ulong)ins->Imm, 8, stackLow, ins)); ins++; continue;
                case Op.LdIndB: r[0] = *(byte*)CheckPacket(ref state, (uint)r[ins->Src] + (ulong)ins->Imm, 1, stackLow, ins); ins++; continue;
                case Op.LdIndH: r[0] = Unsafe.ReadUnaligned<ushort>((void*)CheckPacket(ref state, (uint)r[ins->Src] + (ulong)ins->Imm, 2, stackLow, ins)); ins++; continue;
                case Op.LdIndW: r[0] = Unsafe.ReadUnaligned<uint>((void*)CheckPacket(ref state, (uint)r[ins->Src] + (ulong)ins->Imm, 4, stackLow, ins)); ins++; continue;
                case Op.LdIndDW: r[0] = Unsafe.ReadUnaligned<ulong>((void*)CheckPacket(ref state, (uint)r[ins->Src] + (ulong)ins->Imm, 8, stackLow, ins)); ins++; continue;

                // Calls
                case Op.CallHelper:
                    state.BudgetRemaining = budget + reserve;
                    r[0] = InvokeHelper(helpers[ins->Target], statePointer, Program, Environment, Options, PcOf(ins), stackLow, r[1], r[2], r[3], r[4], r[5], this);
                    if (state.StopRequested != 0)
                    {
                        return state.StopValue;
                    }

                    if (state.BudgetRemaining != budget + reserve)
                    {
                        // A callback ran on the budget handed over.
                        budget = TakeBackBudget(ref state, out reserve);
                    }

                    ins++;
                    continue;
                case Op.CallX:
                    state.BudgetRemaining = budget + reserve;
                    r[0] = InvokeHelper(HelperById(r[ins->Dst], PcOf(ins)), statePointer, Program, Environment, Options, PcOf(ins), stackLow, r[1], r[2], r[3], r[4], r[5], this);
                    if (state.StopRequested != 0)
                    {
                        return state.StopValue;
                    }

                    if (state.BudgetRemaining != budget + reserve)
                    {
                        // A callback ran on the budget handed over.
                        budget = TakeBackBudget(ref state, out reserve);
                    }

                    ins++;
                    continue;
                case Op.CallLocal:
                {
                    if (depth + 1 >= maxDepth)
                    {
                        throw new EbpfCallDepthExceededException(PcOf(ins), Program.Instructions[PcOf(ins)], maxDepth);
                    }

                    ulong* frame = frames + (depth * FrameSlots);
                    frame[0] = (ulong)(ins + 1);
                    frame[1] = r[6];
                    frame[2] = r[7];
                    frame[3] = r[8];
                    frame[4] = r[9];
                    frame[5] = r[10];
                    depth++;
                    r[10] -= stackSize;
                    stackLow -= stackSize;
                    ins = start + ins->Target;
                    continue;
                }

                default:
                {
                    // Op.Exit
                    if (TRun.Direct)
                    {
                        return r[0];
                    }

                    if (depth == baseDepth)
                    {
                        state.BudgetRemaining = budget + reserve;
                        return r[0];
                    }

                    depth--;
                    ulong* frame = frames + (depth * FrameSlots);
                    ins = (DecodedInstruction*)frame[0];
                    r[6] = frame[1];
                    r[7] = frame[2];
                    r[8] = frame[3];
                    r[9] = frame[4];
                    r[10] = frame[5];
                    stackLow = r[10] - stackSize;
                    continue;
                }
            }
        }
    }

    /// <summary>
    /// Returns <paramref name="address"/> when the access is allowed (in a direct run: inside the input or the run's
    /// own frame, <paramref name="stackLow"/> and <see cref="directFrame"/> bytes up); otherwise throws the violation at
    /// <paramref name="ins"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Check<TRun>(ref RunState state, ulong address, ulong size, MemoryAccessKind access, ulong stackLow, DecodedInstruction* ins)
        where TRun : struct, IRunKind
    {
        if (TRun.Direct)
        {
            if (!MemoryGuard.Within(address, size, state.InputAddress, state.InputLength) && !InDirectFrame(address, size, stackLow))
            {
                ThrowDirectViolation(ref state, address, size, access, PcOf(ins));
            }
        }
        else if (!MemoryGuard.IsAllowed(ref state, address, size, access, stackLow))
        {
            ThrowViolation(ref state, address, size, access, stackLow, PcOf(ins));
        }

        return address;
    }

    /// <summary>
    /// True when <c>[address, address + size)</c> lies in a direct run's own frame (<paramref name="stackLow"/> and
    /// <see cref="directFrame"/> bytes up). Not inlined: <see cref="Check{TRun}"/> is inlined at every access of the
    /// dispatch loop, whose inlining the runtime budgets by the IL of every inlinee (the plain copies' too, where this
    /// branch is dead), and the compare written inline there measurably slowed the plain loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool InDirectFrame(ulong address, ulong size, ulong stackLow) => MemoryGuard.Within(address, size, stackLow, (ulong)directFrame);

    /// <summary>
    /// The address of an access the safety analysis proves in bounds: unchecked, except under an observer (which may
    /// write registers and memory between instructions, so the proof no longer holds).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Proven<THook, TRun>(ref RunState state, ulong address, ulong size, MemoryAccessKind access, ulong stackLow, DecodedInstruction* ins)
        where THook : struct, IExecutionHook
        where TRun : struct, IRunKind =>
        THook.Enabled ? Check<TRun>(ref state, address, size, access, stackLow, ins) : address;

    /// <summary>The address of a legacy packet load at <paramref name="offset"/> into the input; throws when it is not inside the input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong CheckPacket(ref RunState state, ulong offset, ulong size, ulong stackLow, DecodedInstruction* ins)
    {
        ulong address = state.InputAddress + offset;
        if (!MemoryGuard.Within(address, size, state.InputAddress, state.InputLength))
        {
            ThrowViolation(ref state, address, size, MemoryAccessKind.Read, stackLow, PcOf(ins));
        }

        return address;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowViolation(ref RunState state, ulong address, ulong size, MemoryAccessKind access, ulong stackLow, int pc) =>
        throw MemoryGuard.Violation(Program, pc, ref state, address, size, access, stackLow);

    /// <summary>The violation of a direct run at <paramref name="pc"/>: the plain run's (see <see cref="CompiledProgram.DirectViolation"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDirectViolation(ref RunState state, ulong address, ulong size, MemoryAccessKind access, int pc) =>
        throw DirectViolation(pc, address, size, access, state.InputAddress, state.InputLength);

    /// <summary>The pc (slot index) of a decoded instruction.</summary>
    private int PcOf(DecodedInstruction* ins) => (int)(ins - codeStart);

    /// <summary>
    /// The budget left for the next slice once the current one ran out at <paramref name="pc"/> (that instruction
    /// already paid for): stops a cancelled run, fails when the reserve is empty too.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long NextSlice(ref RunState state, ref long reserve, int pc)
    {
        if (Volatile.Read(ref state.CancelRequested) != 0)
        {
            throw CancelledAt(Program, pc, ref state);
        }

        if (reserve == 0)
        {
            throw new EbpfBudgetExceededException(pc, Program.Instructions[pc], Options.InstructionBudget ?? long.MaxValue);
        }

        long slice = Math.Min(reserve, CancellationSlice);
        reserve -= slice;
        return slice - 1;
    }

    /// <summary>The budget after a helper that ran callbacks on it: sliced again when the run can be cancelled.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long TakeBackBudget(ref RunState state, out long reserve)
    {
        long budget = state.BudgetRemaining;
        reserve = 0;
        if (state.Cancellable != 0 && budget > CancellationSlice)
        {
            reserve = budget - CancellationSlice;
            budget = CancellationSlice;
        }

        return budget;
    }

    private Helper HelperById(ulong id, int pc) => callxHelpers!.Resolve(id, Program, pc);
}
