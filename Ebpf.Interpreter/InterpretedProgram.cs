using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Ebpf.Execution;
using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf.Interpreter;

/// <summary>
/// A program prepared for the interpreter: the pre-decoded slots, the helpers its calls name, and a snapshot of the
/// helper table for <c>callx</c>. <see cref="Execute"/> is one dispatch loop over the decoded form; every memory access
/// is checked whatever the options say.
/// </summary>
internal sealed unsafe class InterpretedProgram : CompiledProgram
{
    /// <summary>Per frame of a local call: the return pc, r6..r9 and r10 of the caller.</summary>
    private const int FrameSlots = 6;

    private readonly DecodedInstruction[] code;
    private readonly Helper[] helpers;
    private readonly FrozenDictionary<uint, Helper> helpersById;

    public InterpretedProgram(EbpfProgram program, ProgramEnvironment environment, ExecutionOptions options)
        : base(InterpreterEngine.EngineName, program, environment, options)
    {
        var used = new List<Helper>();
        code = Decoder.Decode(program, environment, used);
        helpers = used.ToArray();
        helpersById = environment.Helpers.ToFrozenDictionary(h => h.Id);
    }

    /// <inheritdoc />
    protected override ulong Execute(ref RunState state)
    {
        ulong* r = stackalloc ulong[11];
        int maxDepth = Options.MaxCallDepth;
        ulong* frames = stackalloc ulong[maxDepth * FrameSlots];
        ulong stackSize = (ulong)Options.StackSize;
        RunState* statePointer = (RunState*)Unsafe.AsPointer(ref state);

        r[1] = state.ContextAddress;
        r[2] = state.ContextLength;
        r[10] = state.StackEnd;
        ulong stackLow = state.StackEnd - stackSize;
        long budget = state.BudgetRemaining;
        int depth = 0;
        int pc = 0;

        fixed (DecodedInstruction* start = code)
        {
            while (true)
            {
                DecodedInstruction* ins = start + pc;
                pc++;
                if (--budget < 0)
                {
                    throw BudgetExceeded(pc - 1);
                }

                switch (ins->Op)
                {
                    // ALU64
                    case Op.Add64Imm: r[ins->Dst] += (ulong)ins->Imm; continue;
                    case Op.Add64Reg: r[ins->Dst] += r[ins->Src]; continue;
                    case Op.Sub64Imm: r[ins->Dst] -= (ulong)ins->Imm; continue;
                    case Op.Sub64Reg: r[ins->Dst] -= r[ins->Src]; continue;
                    case Op.Mul64Imm: r[ins->Dst] *= (ulong)ins->Imm; continue;
                    case Op.Mul64Reg: r[ins->Dst] *= r[ins->Src]; continue;
                    case Op.Div64Imm: r[ins->Dst] = Alu.Div64(r[ins->Dst], (ulong)ins->Imm); continue;
                    case Op.Div64Reg: r[ins->Dst] = Alu.Div64(r[ins->Dst], r[ins->Src]); continue;
                    case Op.SDiv64Imm: r[ins->Dst] = Alu.SDiv64(r[ins->Dst], (ulong)ins->Imm); continue;
                    case Op.SDiv64Reg: r[ins->Dst] = Alu.SDiv64(r[ins->Dst], r[ins->Src]); continue;
                    case Op.Mod64Imm: r[ins->Dst] = Alu.Mod64(r[ins->Dst], (ulong)ins->Imm); continue;
                    case Op.Mod64Reg: r[ins->Dst] = Alu.Mod64(r[ins->Dst], r[ins->Src]); continue;
                    case Op.SMod64Imm: r[ins->Dst] = Alu.SMod64(r[ins->Dst], (ulong)ins->Imm); continue;
                    case Op.SMod64Reg: r[ins->Dst] = Alu.SMod64(r[ins->Dst], r[ins->Src]); continue;
                    case Op.Or64Imm: r[ins->Dst] |= (ulong)ins->Imm; continue;
                    case Op.Or64Reg: r[ins->Dst] |= r[ins->Src]; continue;
                    case Op.And64Imm: r[ins->Dst] &= (ulong)ins->Imm; continue;
                    case Op.And64Reg: r[ins->Dst] &= r[ins->Src]; continue;
                    case Op.Xor64Imm: r[ins->Dst] ^= (ulong)ins->Imm; continue;
                    case Op.Xor64Reg: r[ins->Dst] ^= r[ins->Src]; continue;
                    case Op.Lsh64Imm: r[ins->Dst] <<= (int)ins->Imm; continue;
                    case Op.Lsh64Reg: r[ins->Dst] <<= (int)(r[ins->Src] & 63); continue;
                    case Op.Rsh64Imm: r[ins->Dst] >>= (int)ins->Imm; continue;
                    case Op.Rsh64Reg: r[ins->Dst] >>= (int)(r[ins->Src] & 63); continue;
                    case Op.Arsh64Imm: r[ins->Dst] = (ulong)((long)r[ins->Dst] >> (int)ins->Imm); continue;
                    case Op.Arsh64Reg: r[ins->Dst] = (ulong)((long)r[ins->Dst] >> (int)(r[ins->Src] & 63)); continue;
                    case Op.Neg64: r[ins->Dst] = (ulong)-(long)r[ins->Dst]; continue;
                    case Op.Mov64Imm: r[ins->Dst] = (ulong)ins->Imm; continue;
                    case Op.Mov64Reg: r[ins->Dst] = r[ins->Src]; continue;
                    case Op.MovSx64B: r[ins->Dst] = (ulong)(long)(sbyte)r[ins->Src]; continue;
                    case Op.MovSx64H: r[ins->Dst] = (ulong)(long)(short)r[ins->Src]; continue;
                    case Op.MovSx64W: r[ins->Dst] = (ulong)(long)(int)r[ins->Src]; continue;

                    // ALU32: results zero-extended
                    case Op.Add32Imm: r[ins->Dst] = (uint)r[ins->Dst] + (uint)ins->Imm; continue;
                    case Op.Add32Reg: r[ins->Dst] = (uint)r[ins->Dst] + (uint)r[ins->Src]; continue;
                    case Op.Sub32Imm: r[ins->Dst] = (uint)r[ins->Dst] - (uint)ins->Imm; continue;
                    case Op.Sub32Reg: r[ins->Dst] = (uint)r[ins->Dst] - (uint)r[ins->Src]; continue;
                    case Op.Mul32Imm: r[ins->Dst] = (uint)r[ins->Dst] * (uint)ins->Imm; continue;
                    case Op.Mul32Reg: r[ins->Dst] = (uint)r[ins->Dst] * (uint)r[ins->Src]; continue;
                    case Op.Div32Imm: r[ins->Dst] = Alu.Div32((uint)r[ins->Dst], (uint)ins->Imm); continue;
                    case Op.Div32Reg: r[ins->Dst] = Alu.Div32((uint)r[ins->Dst], (uint)r[ins->Src]); continue;
                    case Op.SDiv32Imm: r[ins->Dst] = Alu.SDiv32((uint)r[ins->Dst], (uint)ins->Imm); continue;
                    case Op.SDiv32Reg: r[ins->Dst] = Alu.SDiv32((uint)r[ins->Dst], (uint)r[ins->Src]); continue;
                    case Op.Mod32Imm: r[ins->Dst] = Alu.Mod32((uint)r[ins->Dst], (uint)ins->Imm); continue;
                    case Op.Mod32Reg: r[ins->Dst] = Alu.Mod32((uint)r[ins->Dst], (uint)r[ins->Src]); continue;
                    case Op.SMod32Imm: r[ins->Dst] = Alu.SMod32((uint)r[ins->Dst], (uint)ins->Imm); continue;
                    case Op.SMod32Reg: r[ins->Dst] = Alu.SMod32((uint)r[ins->Dst], (uint)r[ins->Src]); continue;
                    case Op.Or32Imm: r[ins->Dst] = (uint)r[ins->Dst] | (uint)ins->Imm; continue;
                    case Op.Or32Reg: r[ins->Dst] = (uint)r[ins->Dst] | (uint)r[ins->Src]; continue;
                    case Op.And32Imm: r[ins->Dst] = (uint)r[ins->Dst] & (uint)ins->Imm; continue;
                    case Op.And32Reg: r[ins->Dst] = (uint)r[ins->Dst] & (uint)r[ins->Src]; continue;
                    case Op.Xor32Imm: r[ins->Dst] = (uint)r[ins->Dst] ^ (uint)ins->Imm; continue;
                    case Op.Xor32Reg: r[ins->Dst] = (uint)r[ins->Dst] ^ (uint)r[ins->Src]; continue;
                    case Op.Lsh32Imm: r[ins->Dst] = (uint)r[ins->Dst] << (int)ins->Imm; continue;
                    case Op.Lsh32Reg: r[ins->Dst] = (uint)r[ins->Dst] << (int)(r[ins->Src] & 31); continue;
                    case Op.Rsh32Imm: r[ins->Dst] = (uint)r[ins->Dst] >> (int)ins->Imm; continue;
                    case Op.Rsh32Reg: r[ins->Dst] = (uint)r[ins->Dst] >> (int)(r[ins->Src] & 31); continue;
                    case Op.Arsh32Imm: r[ins->Dst] = (uint)((int)r[ins->Dst] >> (int)ins->Imm); continue;
                    case Op.Arsh32Reg: r[ins->Dst] = (uint)((int)r[ins->Dst] >> (int)(r[ins->Src] & 31)); continue;
                    case Op.Neg32: r[ins->Dst] = (uint)-(int)r[ins->Dst]; continue;
                    case Op.Mov32Imm: r[ins->Dst] = (uint)ins->Imm; continue;
                    case Op.Mov32Reg: r[ins->Dst] = (uint)r[ins->Src]; continue;
                    case Op.MovSx32B: r[ins->Dst] = (uint)(int)(sbyte)r[ins->Src]; continue;
                    case Op.MovSx32H: r[ins->Dst] = (uint)(int)(short)r[ins->Src]; continue;

                    // Byte swaps (the host is little-endian)
                    case Op.ZeroExtend16: r[ins->Dst] = (ushort)r[ins->Dst]; continue;
                    case Op.ZeroExtend32: r[ins->Dst] = (uint)r[ins->Dst]; continue;
                    case Op.Nop: continue;
                    case Op.Swap16: r[ins->Dst] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)r[ins->Dst]); continue;
                    case Op.Swap32: r[ins->Dst] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)r[ins->Dst]); continue;
                    case Op.Swap64: r[ins->Dst] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(r[ins->Dst]); continue;

                    // Jumps
                    case Op.Ja: pc = ins->Target; continue;
                    case Op.JeqImm: if (r[ins->Dst] == (ulong)ins->Imm) { pc = ins->Target; } continue;
                    case Op.JeqReg: if (r[ins->Dst] == r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.JgtImm: if (r[ins->Dst] > (ulong)ins->Imm) { pc = ins->Target; } continue;
                    case Op.JgtReg: if (r[ins->Dst] > r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.JgeImm: if (r[ins->Dst] >= (ulong)ins->Imm) { pc = ins->Target; } continue;
                    case Op.JgeReg: if (r[ins->Dst] >= r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.JsetImm: if ((r[ins->Dst] & (ulong)ins->Imm) != 0) { pc = ins->Target; } continue;
                    case Op.JsetReg: if ((r[ins->Dst] & r[ins->Src]) != 0) { pc = ins->Target; } continue;
                    case Op.JneImm: if (r[ins->Dst] != (ulong)ins->Imm) { pc = ins->Target; } continue;
                    case Op.JneReg: if (r[ins->Dst] != r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.JsgtImm: if ((long)r[ins->Dst] > ins->Imm) { pc = ins->Target; } continue;
                    case Op.JsgtReg: if ((long)r[ins->Dst] > (long)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.JsgeImm: if ((long)r[ins->Dst] >= ins->Imm) { pc = ins->Target; } continue;
                    case Op.JsgeReg: if ((long)r[ins->Dst] >= (long)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.JltImm: if (r[ins->Dst] < (ulong)ins->Imm) { pc = ins->Target; } continue;
                    case Op.JltReg: if (r[ins->Dst] < r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.JleImm: if (r[ins->Dst] <= (ulong)ins->Imm) { pc = ins->Target; } continue;
                    case Op.JleReg: if (r[ins->Dst] <= r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.JsltImm: if ((long)r[ins->Dst] < ins->Imm) { pc = ins->Target; } continue;
                    case Op.JsltReg: if ((long)r[ins->Dst] < (long)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.JsleImm: if ((long)r[ins->Dst] <= ins->Imm) { pc = ins->Target; } continue;
                    case Op.JsleReg: if ((long)r[ins->Dst] <= (long)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jeq32Imm: if ((uint)r[ins->Dst] == (uint)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jeq32Reg: if ((uint)r[ins->Dst] == (uint)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jgt32Imm: if ((uint)r[ins->Dst] > (uint)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jgt32Reg: if ((uint)r[ins->Dst] > (uint)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jge32Imm: if ((uint)r[ins->Dst] >= (uint)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jge32Reg: if ((uint)r[ins->Dst] >= (uint)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jset32Imm: if (((uint)r[ins->Dst] & (uint)ins->Imm) != 0) { pc = ins->Target; } continue;
                    case Op.Jset32Reg: if (((uint)r[ins->Dst] & (uint)r[ins->Src]) != 0) { pc = ins->Target; } continue;
                    case Op.Jne32Imm: if ((uint)r[ins->Dst] != (uint)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jne32Reg: if ((uint)r[ins->Dst] != (uint)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jsgt32Imm: if ((int)r[ins->Dst] > (int)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jsgt32Reg: if ((int)r[ins->Dst] > (int)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jsge32Imm: if ((int)r[ins->Dst] >= (int)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jsge32Reg: if ((int)r[ins->Dst] >= (int)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jlt32Imm: if ((uint)r[ins->Dst] < (uint)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jlt32Reg: if ((uint)r[ins->Dst] < (uint)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jle32Imm: if ((uint)r[ins->Dst] <= (uint)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jle32Reg: if ((uint)r[ins->Dst] <= (uint)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jslt32Imm: if ((int)r[ins->Dst] < (int)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jslt32Reg: if ((int)r[ins->Dst] < (int)r[ins->Src]) { pc = ins->Target; } continue;
                    case Op.Jsle32Imm: if ((int)r[ins->Dst] <= (int)ins->Imm) { pc = ins->Target; } continue;
                    case Op.Jsle32Reg: if ((int)r[ins->Dst] <= (int)r[ins->Src]) { pc = ins->Target; } continue;

                    // Loads and stores, each access checked in full
                    case Op.Lddw: r[ins->Dst] = (ulong)ins->Imm; pc++; continue;
                    case Op.LdxB: r[ins->Dst] = *(byte*)Check(ref state, r[ins->Src] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Read, stackLow, pc); continue;
                    case Op.LdxH: r[ins->Dst] = Unsafe.ReadUnaligned<ushort>((void*)Check(ref state, r[ins->Src] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Read, stackLow, pc)); continue;
                    case Op.LdxW: r[ins->Dst] = Unsafe.ReadUnaligned<uint>((void*)Check(ref state, r[ins->Src] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Read, stackLow, pc)); continue;
                    case Op.LdxDW: r[ins->Dst] = Unsafe.ReadUnaligned<ulong>((void*)Check(ref state, r[ins->Src] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Read, stackLow, pc)); continue;
                    case Op.LdxsB: r[ins->Dst] = (ulong)(long)*(sbyte*)Check(ref state, r[ins->Src] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Read, stackLow, pc); continue;
                    case Op.LdxsH: r[ins->Dst] = (ulong)(long)Unsafe.ReadUnaligned<short>((void*)Check(ref state, r[ins->Src] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Read, stackLow, pc)); continue;
                    case Op.LdxsW: r[ins->Dst] = (ulong)(long)Unsafe.ReadUnaligned<int>((void*)Check(ref state, r[ins->Src] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Read, stackLow, pc)); continue;
                    case Op.StB: *(byte*)Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Write, stackLow, pc) = (byte)ins->Imm; continue;
                    case Op.StH: Unsafe.WriteUnaligned((void*)Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Write, stackLow, pc), (ushort)ins->Imm); continue;
                    case Op.StW: Unsafe.WriteUnaligned((void*)Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Write, stackLow, pc), (uint)ins->Imm); continue;
                    case Op.StDW: Unsafe.WriteUnaligned((void*)Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Write, stackLow, pc), (ulong)ins->Imm); continue;
                    case Op.StxB: *(byte*)Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 1, MemoryAccessKind.Write, stackLow, pc) = (byte)r[ins->Src]; continue;
                    case Op.StxH: Unsafe.WriteUnaligned((void*)Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 2, MemoryAccessKind.Write, stackLow, pc), (ushort)r[ins->Src]); continue;
                    case Op.StxW: Unsafe.WriteUnaligned((void*)Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Write, stackLow, pc), (uint)r[ins->Src]); continue;
                    case Op.StxDW: Unsafe.WriteUnaligned((void*)Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Write, stackLow, pc), r[ins->Src]); continue;
                    case Op.Atomic32:
                        Atomics.Execute32(Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 4, MemoryAccessKind.Write, stackLow, pc), (AtomicOperation)ins->Imm, ref r[ins->Src], ref r[0]);
                        continue;
                    case Op.Atomic64:
                        Atomics.Execute64(Check(ref state, r[ins->Dst] + (ulong)(long)ins->Target, 8, MemoryAccessKind.Write, stackLow, pc), (AtomicOperation)ins->Imm, ref r[ins->Src], ref r[0]);
                        continue;

                    // Legacy packet loads: input region only, little-endian, zero-extended into r0
                    case Op.LdAbsB: r[0] = *(byte*)CheckPacket(ref state, (ulong)ins->Imm, 1, stackLow, pc); continue;
                    case Op.LdAbsH: r[0] = Unsafe.ReadUnaligned<ushort>((void*)CheckPacket(ref state, (ulong)ins->Imm, 2, stackLow, pc)); continue;
                    case Op.LdAbsW: r[0] = Unsafe.ReadUnaligned<uint>((void*)CheckPacket(ref state, (ulong)ins->Imm, 4, stackLow, pc)); continue;
                    case Op.LdAbsDW: r[0] = Unsafe.ReadUnaligned<ulong>((void*)CheckPacket(ref state, (ulong)ins->Imm, 8, stackLow, pc)); continue;
                    case Op.LdIndB: r[0] = *(byte*)CheckPacket(ref state, (uint)r[ins->Src] + (ulong)ins->Imm, 1, stackLow, pc); continue;
                    case Op.LdIndH: r[0] = Unsafe.ReadUnaligned<ushort>((void*)CheckPacket(ref state, (uint)r[ins->Src] + (ulong)ins->Imm, 2, stackLow, pc)); continue;
                    case Op.LdIndW: r[0] = Unsafe.ReadUnaligned<uint>((void*)CheckPacket(ref state, (uint)r[ins->Src] + (ulong)ins->Imm, 4, stackLow, pc)); continue;
                    case Op.LdIndDW: r[0] = Unsafe.ReadUnaligned<ulong>((void*)CheckPacket(ref state, (uint)r[ins->Src] + (ulong)ins->Imm, 8, stackLow, pc)); continue;

                    // Calls
                    case Op.CallHelper:
                        state.BudgetRemaining = budget;
                        r[0] = InvokeHelper(helpers[ins->Target], statePointer, Program, Environment, Options, pc - 1, stackLow, r[1], r[2], r[3], r[4], r[5]);
                        if (state.StopRequested != 0)
                        {
                            return state.StopValue;
                        }

                        continue;
                    case Op.CallX:
                        state.BudgetRemaining = budget;
                        r[0] = InvokeHelper(HelperById(r[ins->Dst], pc - 1), statePointer, Program, Environment, Options, pc - 1, stackLow, r[1], r[2], r[3], r[4], r[5]);
                        if (state.StopRequested != 0)
                        {
                            return state.StopValue;
                        }

                        continue;
                    case Op.CallLocal:
                    {
                        if (depth + 1 >= maxDepth)
                        {
                            throw new EbpfCallDepthExceededException(pc - 1, Program.Instructions[pc - 1], maxDepth);
                        }

                        ulong* frame = frames + (depth * FrameSlots);
                        frame[0] = (ulong)pc;
                        frame[1] = r[6];
                        frame[2] = r[7];
                        frame[3] = r[8];
                        frame[4] = r[9];
                        frame[5] = r[10];
                        depth++;
                        r[10] -= stackSize;
                        stackLow -= stackSize;
                        pc = ins->Target;
                        continue;
                    }

                    default:
                    {
                        // Op.Exit
                        if (depth == 0)
                        {
                            state.BudgetRemaining = budget;
                            return r[0];
                        }

                        depth--;
                        ulong* frame = frames + (depth * FrameSlots);
                        pc = (int)frame[0];
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
    }

    /// <summary>Returns <paramref name="address"/> when the access is allowed; otherwise throws the violation (pc is one past the instruction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Check(ref RunState state, ulong address, ulong size, MemoryAccessKind access, ulong stackLow, int nextPc)
    {
        if (!MemoryGuard.IsAllowed(ref state, address, size, access, stackLow))
        {
            ThrowViolation(ref state, address, size, access, stackLow, nextPc - 1);
        }

        return address;
    }

    /// <summary>The address of a legacy packet load at <paramref name="offset"/> into the input; throws when it is not inside the input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong CheckPacket(ref RunState state, ulong offset, ulong size, ulong stackLow, int nextPc)
    {
        ulong address = state.InputAddress + offset;
        if (!MemoryGuard.Within(address, size, state.InputAddress, state.InputLength))
        {
            ThrowViolation(ref state, address, size, MemoryAccessKind.Read, stackLow, nextPc - 1);
        }

        return address;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowViolation(ref RunState state, ulong address, ulong size, MemoryAccessKind access, ulong stackLow, int pc) =>
        throw MemoryGuard.Violation(Program, pc, ref state, address, size, access, stackLow);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private EbpfBudgetExceededException BudgetExceeded(int pc) =>
        new(pc, Program.Instructions[pc], Options.InstructionBudget ?? long.MaxValue);

    private Helper HelperById(ulong id, int pc) =>
        id <= uint.MaxValue && helpersById.TryGetValue((uint)id, out var helper)
            ? helper
            : throw new EbpfHelperException(pc, Program.Instructions[pc], id);
}
