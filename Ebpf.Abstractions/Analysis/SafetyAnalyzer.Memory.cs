using Ebpf.Isa;

namespace Ebpf.Analysis;

internal sealed partial class SafetyAnalyzer
{
    private bool Memory(int pc, in DecodedInstruction insn, AbstractState state)
    {
        int baseRegister = insn.BaseRegister;
        int size = insn.AccessSize;
        if (!Read(pc, state, baseRegister, out var pointer))
        {
            return false;
        }

        bool load = insn.Operation is Operation.Load or Operation.LoadSignExtend;
        bool atomic = insn.IsAtomic;
        var stored = AbstractValue.Constant((ulong)(long)insn.Imm);
        if (!load && (atomic || insn.HasRegisterSource) && !Read(pc, state, insn.Src, out stored))
        {
            return false;
        }

        if (insn.Operation == Operation.AtomicCompareExchange && !Read(pc, state, 0, out _))
        {
            return false;
        }

        if (!NoteBase(pc, pointer))
        {
            return false;
        }

        if (pointer.Kind == ValueKind.Context && context.Layout is { } layout)
        {
            return ContextAccess(pc, insn, state, pointer, stored, layout);
        }

        if (AbstractValue.IsSocket(pointer.Kind))
        {
            return SocketAccess(pc, insn, state, pointer);
        }

        var proof = Classify(state, pointer, baseRegister, insn.Offset, size, write: !load, out string? why);
        Record(pc, proof);
        if (proof.Outcome == AccessOutcome.Refuted)
        {
            Error(pc, why!);
            return false;
        }

        if (proof.Outcome == AccessOutcome.Unknown)
        {
            Unproven(pc, why!);
            if (!load)
            {
                ForgetSpills(state); // the run-time check lets it land in any region, a stack frame included
            }
        }

        if (!load && stored.IsPointer && pointer.Kind is ValueKind.Input or ValueKind.MapValue or ValueKind.Global)
        {
            Unproven(pc, $"r{insn.Src}: stores a pointer ({stored}) into the {Describe(pointer.Kind)}, where the host can read it (a pointer leak the kernel rejects)");
        }

        if (pointer.Kind == ValueKind.Stack && pointer.Frame < state.Frames.Count && proof.Outcome != AccessOutcome.Refuted)
        {
            var frame = state.Frames[pointer.Frame];
            if ((load || atomic) && proof.Outcome == AccessOutcome.Proven && !Initialized(pc, frame, proof, baseRegister))
            {
                return false;
            }

            if (load && proof.Outcome == AccessOutcome.Proven && proof.MinOffset == proof.MaxOffset && size == 8 && SpillAt(frame, proof.MinOffset) is { } spilled)
            {
                state.Registers[insn.Dst] = spilled;
                return true;
            }

            if (!load)
            {
                WriteStack(frame, proof, atomic ? AbstractValue.AnyScalar : stored, strong: proof.Outcome == AccessOutcome.Proven);
            }
        }

        var loaded = AbstractValue.Scalar(insn.Operation == Operation.LoadSignExtend
            ? ScalarRange.FromSigned(-(1L << (size * 8 - 1)), (1L << (size * 8 - 1)) - 1)
            : ScalarRange.OfWidth(size * 8));
        if (load)
        {
            state.Registers[insn.Dst] = loaded;
        }
        else if (insn.WriteBackRegister >= 0)
        {
            state.Registers[insn.WriteBackRegister] = loaded;
        }

        return true;
    }

    /// <summary>Classifies an access of <paramref name="size"/> bytes at <paramref name="pointer"/> + <paramref name="displacement"/>; <paramref name="why"/> explains any outcome but proven.</summary>
    private AccessProof Classify(AbstractState state, in AbstractValue pointer, int baseRegister, long displacement, int size, bool write, out string? why)
    {
        var offset = pointer.Num.Add(ScalarRange.Constant((ulong)displacement));
        (var outcome, why) = ClassifyCore(state, pointer, offset, baseRegister, displacement, size, write);
        return new AccessProof(outcome, pointer.Kind, offset.SMin, offset.SMax, size);
    }

    private (AccessOutcome, string?) ClassifyCore(AbstractState state, AbstractValue pointer, ScalarRange offset, int register, long displacement, int size, bool write)
    {
        long lo = offset.SMin, hi = offset.SMax;
        // the texts are built only for the outcomes that explain themselves (proven accesses are the common case)
        string R() => $"r{register}";
        string Range() => lo == hi ? $"offset {lo}" : $"offset [{lo}, {hi}]";
        static (AccessOutcome, string?) Result(AccessOutcome outcome, string? reason) => (outcome, reason);

        if (pointer.IsPointer && pointer.Kind is not (ValueKind.MapPointer or ValueKind.MapValueOrNull or ValueKind.Function) && !IsSmall(offset))
        {
            return Result(AccessOutcome.Unknown, $"{R()}: the offset into the {Describe(pointer.Kind)} is unbounded ({offset})");
        }

        switch (pointer.Kind)
        {
            case ValueKind.Input:
                long? upper = Min(pointer.LenUpper, pointer.ScaledAsUpper(state.MinLength)) + displacement;
                long? lower = pointer.LenLower + displacement;
                if (lo >= 0 && (hi + size <= state.MinLength || (upper is { } u && u + size <= 0)))
                {
                    return Result(AccessOutcome.Proven, null);
                }

                if (hi < 0)
                {
                    return Result(AccessOutcome.Refuted, $"{R()}: {Range()} is before the start of the {InputName}");
                }

                if (lower is { } l && l + size > 0)
                {
                    return Result(AccessOutcome.Refuted, $"{R()}: {Range()} ({Bytes(size)}) runs past the end of the {InputName} on every path (the offset is at least len{(l < 0 ? l.ToString(System.Globalization.CultureInfo.InvariantCulture) : "+" + l)})");
                }

                return Result(AccessOutcome.Unknown, lo < 0
                    ? $"{R()}: {Range()} may be before the start of the {InputName}"
                    : $"{R()}: {Range()} ({Bytes(size)}) may exceed the {InputName} length, len in [{state.MinLength}, inf)");
            case ValueKind.Stack:
                int stackSize = context.StackSize;
                if (pointer.Frame >= state.Frames.Count)
                {
                    return Result(AccessOutcome.Unknown, $"{R()}: points into a frame that has returned");
                }

                if (lo >= -stackSize && hi + size <= 0)
                {
                    return Result(AccessOutcome.Proven, null);
                }

                return hi < -stackSize || lo + size > 0
                    ? Result(AccessOutcome.Refuted, $"{R()}: stack {Range()} ({Bytes(size)}) is outside the {stackSize}-byte frame")
                    : Result(AccessOutcome.Unknown, $"{R()}: stack {Range()} ({Bytes(size)}) may leave the {stackSize}-byte frame");
            case ValueKind.MapValue or ValueKind.Global:
                if (pointer.Map is not { } map)
                {
                    return Result(AccessOutcome.Unknown, $"{R()}: points into a map whose size is not known");
                }

                if (write && map.ReadOnly)
                {
                    return Result(AccessOutcome.Refuted, $"{R()}: {map.Name} is read-only");
                }

                if (lo >= 0 && hi + size <= map.ValueSize)
                {
                    return Result(AccessOutcome.Proven, null);
                }

                return hi < 0 || lo + size > map.ValueSize
                    ? Result(AccessOutcome.Refuted, $"{R()}: {Range()} ({Bytes(size)}) is outside the {map.ValueSize}-byte value of {map.Name}")
                    : Result(AccessOutcome.Unknown, $"{R()}: {Range()} ({Bytes(size)}) may leave the {map.ValueSize}-byte value of {map.Name}");
            case ValueKind.PacketEnd:
                return Result(AccessOutcome.Refuted, $"{R()}: is the packet-end pointer: it is compared with packet pointers, never dereferenced");
            case ValueKind.PacketMeta:
                if (lo >= 0 && hi + size <= state.MinMetaLength)
                {
                    return Result(AccessOutcome.Proven, null);
                }

                return hi < 0
                    ? Result(AccessOutcome.Refuted, $"{R()}: {Range()} is before the start of the packet metadata")
                    : Result(AccessOutcome.Unknown, $"{R()}: {Range()} ({Bytes(size)}) may run past the packet metadata, proven {state.MinMetaLength} bytes long (compare meta + n with the packet start first)");
            case ValueKind.Context:
                return Result(AccessOutcome.Refuted, $"{R()}: the context is not memory a helper may read or write (pass it as the context argument)");
            case ValueKind.MapValueOrNull:
                return Result(AccessOutcome.Unknown, RecordAccessProblem(R(), pointer) ?? $"{R()}: may be null (the result of a map lookup: compare it with 0 first)");
            case ValueKind.MapPointer:
                return Result(AccessOutcome.Refuted, $"{R()}: is a map handle, not a pointer to memory");
            case var kind when AbstractValue.IsSocket(kind):
                return Result(AccessOutcome.Refuted, $"{R()}: is a socket pointer ({AbstractValue.SocketName(pointer.Kind)}): only its fields may be loaded, by the program itself");
            case ValueKind.Function:
                return Result(AccessOutcome.Refuted, $"{R()}: is the address of a function (for a helper to call back), not a pointer to memory");
            case ValueKind.Scalar:
                return Result(AccessOutcome.Unknown, $"{R()}: is a number ({pointer.Num}), not a pointer the analysis can follow");
            default:
                return Result(AccessOutcome.Unknown, RecordAccessProblem(R(), pointer) ?? $"{R()}: the analysis does not know where it points");
        }
    }

    private static string Describe(ValueKind kind) => kind switch
    {
        ValueKind.Input => "input or packet",
        ValueKind.Stack => "stack",
        ValueKind.Global => "global data",
        ValueKind.PacketMeta => "packet metadata",
        ValueKind.Context => "context",
        _ => "map value",
    };

    /// <summary>Merges the conclusion of one visit into the access's record: proven (or refuted) only when every visit says so.</summary>
    private void Record(int pc, AccessProof proof)
    {
        var old = accesses[pc];
        if (old.Outcome == AccessOutcome.Unreachable)
        {
            accesses[pc] = proof;
            return;
        }

        var outcome = old.Outcome == proof.Outcome && old.Region == proof.Region ? old.Outcome : AccessOutcome.Unknown;
        accesses[pc] = new AccessProof(
            outcome, old.Region == proof.Region ? old.Region : ValueKind.Unknown, Math.Min(old.MinOffset, proof.MinOffset), Math.Max(old.MaxOffset, proof.MaxOffset), proof.Size);
    }

    /// <summary>True when every byte a proven stack access reads is initialised; otherwise reports the error.</summary>
    private bool Initialized(int pc, FrameState frame, in AccessProof proof, int baseRegister)
    {
        int first = (int)proof.MinOffset + frame.Size;
        int end = (int)proof.MaxOffset + proof.Size + frame.Size;
        var bytes = frame.Bytes.AsSpan(first, end - first);
        int bad = bytes.IndexOf(StackByte.Uninitialized);
        if (bad < 0)
        {
            int maybe = bytes.IndexOf(StackByte.MaybeData);
            if (maybe >= 0)
            {
                Unproven(pc, $"r{baseRegister}: the stack byte fp{first + maybe - frame.Size} may be uninitialised (only stores at variable offsets may have written it)");
            }

            return true;
        }

        Error(pc, $"r{baseRegister}: reads the uninitialised stack byte fp{first + bad - frame.Size}");
        return false;
    }

    private static AbstractValue? SpillAt(FrameState frame, long offset)
    {
        int index = (int)offset + frame.Size;
        return index % 8 == 0 && frame.Bytes[index] == StackByte.Spill ? frame.Spills[index / 8] : null;
    }

    /// <summary>
    /// A write the analysis cannot place (a store or atomic it does not prove, a helper writing where it cannot tell,
    /// <c>callx</c>) may land anywhere the run-time checks allow, any stack frame included: every spilled register
    /// becomes plain data (a reload is some number, never a pointer or a bounded index). Bytes never written stay
    /// uninitialised (reading them stays an error, as before the write).
    /// </summary>
    private static void ForgetSpills(AbstractState state)
    {
        foreach (var frame in state.Frames)
        {
            if (frame.Bytes.AsSpan().Contains(StackByte.Spill))
            {
                frame.WritableBytes.AsSpan().Replace(StackByte.Spill, StackByte.Data);
            }
        }
    }

    /// <summary>Writes <paramref name="value"/> to the stack bytes of a proven (strong: one known offset) or possible (weak) access.</summary>
    private static void WriteStack(FrameState frame, in AccessProof proof, in AbstractValue value, bool strong)
    {
        long first = Math.Max(proof.MinOffset + frame.Size, 0);
        long end = Math.Min(proof.MaxOffset + proof.Size + frame.Size, frame.Size);
        if (first >= end)
        {
            return;
        }

        for (long slot = first / 8 * 8; slot < end; slot += 8)
        {
            if (frame.Bytes[(int)slot] == StackByte.Spill)
            {
                frame.WritableBytes.AsSpan((int)slot, 8).Fill(StackByte.Data);
            }
        }

        if (!strong || proof.MinOffset != proof.MaxOffset)
        {
            var range = frame.Bytes.AsSpan((int)first, (int)(end - first));
            if (range.Contains(StackByte.Uninitialized))
            {
                frame.WritableBytes.AsSpan((int)first, (int)(end - first)).Replace(StackByte.Uninitialized, StackByte.MaybeData);
            }

            return;
        }

        frame.WritableBytes.AsSpan((int)first, (int)(end - first)).Fill(StackByte.Data);
        if (proof.Size == 8 && first % 8 == 0)
        {
            frame.WritableBytes.AsSpan((int)first, 8).Fill(StackByte.Spill);
            frame.WritableSpills[first / 8] = value;
        }
    }
}
