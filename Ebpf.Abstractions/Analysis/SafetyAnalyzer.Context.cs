using Ebpf.Isa;

namespace Ebpf.Analysis;

/// <summary>
/// The program context (with a <see cref="ContextLayout"/>): loads and stores through the context pointer must hit a
/// field; packet-start, packet-end and meta fields give the pointers whose comparisons prove packet ranges.
/// </summary>
internal sealed partial class SafetyAnalyzer
{
    /// <summary>Per pc: the context field its access hits on every path so far (null: none, or not a context access).</summary>
    private ContextField?[]? contextFields;

    /// <summary>Per pc: 1 when some path accesses the context there, 2 when some path accesses other memory, 3 both.</summary>
    private byte[]? contextBases;

    private string InputName => context.Layout?.HasPacket == true ? "packet" : "input";

    /// <summary>The entry registers: r1 = the context pointer with a layout, else r1 = the input and r2 = its length.</summary>
    private void EntryRegisters(AbstractValue[] registers)
    {
        if (context.Layout is not null)
        {
            registers[1] = new AbstractValue(ValueKind.Context, ScalarRange.Constant(0));
            return;
        }

        registers[1] = new AbstractValue(ValueKind.Input, ScalarRange.Constant(0));
        registers[2] = new AbstractValue(ValueKind.Scalar, ScalarRange.UpTo(MaxInputLength), 0, 0);
    }

    /// <summary>
    /// Notes whether the access at <paramref name="pc"/> goes through the context on this path; an instruction that
    /// accesses the context on one path and other memory on another cannot be rewritten, so it is an error (the
    /// kernel rejects it too). False when it is.
    /// </summary>
    private bool NoteBase(int pc, in AbstractValue pointer)
    {
        if (context.Layout is null)
        {
            return true;
        }

        contextBases ??= new byte[code.Length];
        contextBases[pc] |= pointer.Kind == ValueKind.Context ? (byte)1 : (byte)2;
        if (contextBases[pc] == 3)
        {
            Error(pc, "accesses the context on some paths and other memory on others (context accesses are rewritten per instruction)");
            return false;
        }

        return true;
    }

    /// <summary>A load or store through the context pointer <paramref name="pointer"/>; false when it is an error (the path ends).</summary>
    private bool ContextAccess(int pc, in DecodedInstruction insn, AbstractState state, in AbstractValue pointer, in AbstractValue stored, ContextLayout layout)
    {
        string r = $"r{insn.BaseRegister}";
        int size = insn.AccessSize;
        bool load = insn.Operation is Operation.Load or Operation.LoadSignExtend;
        long offset = pointer.Num.SMin + insn.Offset;
        string? why = null;
        ContextField? field = null;
        if (!pointer.Num.IsConstant)
        {
            why = $"{r}: the context pointer has a variable offset ({pointer.Num}); context fields are addressed with constant offsets";
        }
        else if (pointer.Num.SMin != 0)
        {
            why = $"{r}: the context pointer was moved by {pointer.Num.SMin}; address context fields with the instruction's offset from the unmodified pointer, as the kernel requires";
        }
        else if (insn.IsAtomic)
        {
            why = $"{r}: atomic operations on the context are not allowed";
        }
        else if (layout.Refusal(offset, size, !load) is { } refusal)
        {
            why = $"{r}: {refusal}";
        }
        else if ((field = layout.FieldAt(offset, size, !load))!.Kind != ContextFieldKind.Scalar && insn.Operation == Operation.LoadSignExtend)
        {
            why = $"{r}: field {field.Name} of {layout.Name} holds a pointer: it cannot be loaded sign-extended";
        }

        var proof = new AccessProof(why is null ? AccessOutcome.Proven : AccessOutcome.Refuted, ValueKind.Context, offset, offset, size);
        Record(pc, proof);
        RecordField(pc, field);
        if (why is not null)
        {
            Error(pc, why);
            return false;
        }

        if (!load)
        {
            if (stored.IsPointer)
            {
                Unproven(pc, $"r{insn.Src}: stores a pointer ({stored}) into context field {field!.Name} (a pointer leak the kernel rejects)");
            }

            return true;
        }

        state.Registers[insn.Dst] = field!.Kind switch
        {
            ContextFieldKind.PacketStart => new AbstractValue(ValueKind.Input, ScalarRange.Constant(0)),
            ContextFieldKind.PacketEnd => new AbstractValue(ValueKind.PacketEnd, ScalarRange.UpTo(MaxInputLength), 0, 0),
            ContextFieldKind.PacketMeta => new AbstractValue(ValueKind.PacketMeta, ScalarRange.Constant(0)),
            ContextFieldKind.Socket => new AbstractValue(ValueKind.SocketOrNull, ScalarRange.Constant(0), NullId: ++nextNullId),
            _ => AbstractValue.Scalar(insn.Operation == Operation.LoadSignExtend
                ? ScalarRange.FromSigned(-(1L << (size * 8 - 1)), (1L << (size * 8 - 1)) - 1)
                : ScalarRange.OfWidth(size * 8)),
        };
        return true;
    }

    private static string Bytes(int size) => ContextLayout.Bytes(size);

    /// <summary>
    /// A load or store through a socket pointer, by the kernel verifier's rules (Linux 6.18's
    /// <c>bpf_sock_common_is_valid_access</c> and <c>bpf_sock_is_valid_access</c>): the pointer must have been compared
    /// with 0, nothing may be stored, and a load must hit a field of the context layout's <see cref="ContextLayout.Socket"/>
    /// (or, for a full socket, <see cref="ContextLayout.FullSocket"/>) as the field allows; it gives a number. Anything
    /// else is an error whose text starts with the kernel's words (<c>invalid sock_common access off=8 size=4</c>).
    /// False when it is one (the path ends).
    /// </summary>
    private bool SocketAccess(int pc, in DecodedInstruction insn, AbstractState state, in AbstractValue pointer)
    {
        string r = $"r{insn.BaseRegister}";
        int size = insn.AccessSize;
        bool load = insn.Operation is Operation.Load or Operation.LoadSignExtend;
        long offset = pointer.Num.SMin + insn.Offset;
        string name = AbstractValue.SocketName(pointer.Kind);
        var layout = pointer.Kind switch
        {
            ValueKind.Socket or ValueKind.SocketOrNull => context.Layout?.Socket,
            ValueKind.TcpSocket or ValueKind.TcpSocketOrNull => context.Layout?.TcpSocket,
            _ => context.Layout?.FullSocket,
        };
        string? why = null;
        if (AbstractValue.IsNullable(pointer.Kind))
        {
            why = $"{r}: invalid mem access '{name}': the socket pointer may be null (compare it with 0 first)";
        }
        else if (!load || insn.IsAtomic)
        {
            why = $"{r}: cannot write into {name}: a socket's fields are read-only";
        }
        else if (layout is null || !pointer.Num.IsConstant)
        {
            why = $"{r}: invalid {name} access off={offset} size={size}: the analysis has no socket layout";
        }
        else if (insn.Operation == Operation.LoadSignExtend)
        {
            why = $"{r}: invalid {name} access off={offset} size={size}: a socket's fields are not loaded sign-extended";
        }
        else if (layout.Refusal(offset, size, store: false) is { } refusal)
        {
            why = $"{r}: invalid {name} access off={offset} size={size}: {refusal}";
        }

        Record(pc, new AccessProof(why is null ? AccessOutcome.Proven : AccessOutcome.Refuted, pointer.Kind, offset, offset, size));
        if (why is not null)
        {
            Error(pc, why);
            return false;
        }

        state.Registers[insn.Dst] = AbstractValue.Scalar(ScalarRange.OfWidth(size * 8));
        return true;
    }

    /// <summary>Merges the field a visit of the access at <paramref name="pc"/> hit into its record: kept only while every visit hits the same one.</summary>
    private void RecordField(int pc, ContextField? field)
    {
        contextFields ??= new ContextField?[code.Length];
        contextFields[pc] = accesses[pc].Outcome == AccessOutcome.Proven && (contextFields[pc] is null || ReferenceEquals(contextFields[pc], field)) ? field : null;
    }

    /// <summary>The field of a proven context access at each pc (null elsewhere).</summary>
    private ContextField?[]? ProvenContextFields()
    {
        if (contextFields is null)
        {
            return null;
        }

        for (int pc = 0; pc < contextFields.Length; pc++)
        {
            if (accesses[pc].Outcome != AccessOutcome.Proven || accesses[pc].Region != ValueKind.Context)
            {
                contextFields[pc] = null;
            }
        }

        return contextFields;
    }

    /// <summary>
    /// A comparison of a meta pointer with a packet pointer: from <c>meta + k &lt;= data</c> follows that the metadata
    /// area is at least <c>k</c> bytes past the meta pointer's base. Only for offsets where address comparison is
    /// offset comparison.
    /// </summary>
    private static void RefineMeta(AbstractState state, Operation op, in AbstractValue a, in AbstractValue b)
    {
        if (!IsAddressRange(a.Num) || !IsAddressRange(b.Num))
        {
            return;
        }

        bool metaLeft = a.Kind == ValueKind.PacketMeta;
        long strict = op is Operation.Jlt or Operation.Jgt ? 1 : 0;
        bool metaSmaller = op switch
        {
            Operation.Jeq => true,
            Operation.Jle or Operation.Jlt => metaLeft,
            Operation.Jge or Operation.Jgt => !metaLeft,
            _ => false,
        };
        if (!metaSmaller)
        {
            return;
        }

        var (meta, data) = metaLeft ? (a, b) : (b, a);
        state.MinMetaLength = Math.Max(state.MinMetaLength, meta.Num.SMin + strict - data.Num.SMax);
    }

    /// <summary>After a helper that may move the packet: every packet, packet-end and meta pointer becomes unknown, and no packet range is proven.</summary>
    private static void ForgetPacket(AbstractState state)
    {
        // packet pointers become unknown; numbers keep their ranges but lose their relations to the old length
        static bool packetish(in AbstractValue v) => v.Kind is ValueKind.Input or ValueKind.PacketEnd or ValueKind.PacketMeta;
        static bool related(in AbstractValue v) => v.LenUpper is not null || v.LenLower is not null || v.LenScale != 0;
        static AbstractValue forget(in AbstractValue v) => packetish(v) ? AbstractValue.UnknownValue : v.WithoutRelations();
        for (int r = 0; r < state.Registers.Length; r++)
        {
            if (packetish(state.Registers[r]) || related(state.Registers[r]))
            {
                state.Registers[r] = forget(state.Registers[r]);
            }
        }

        for (int f = 0; f < state.Frames.Count; f++)
        {
            var frame = state.Frames[f];
            for (int i = 0; i < frame.Spills.Length; i++)
            {
                if (frame.Bytes[i * 8] == StackByte.Spill && (packetish(frame.Spills[i]) || related(frame.Spills[i])))
                {
                    frame.WritableSpills[i] = forget(frame.Spills[i]);
                }
            }

            // the callers' r6-r9, restored when the call returns (shared between states: replaced, not written)
            if (frame.CallerSaved is { } saved && saved.Any(v => packetish(v) || related(v)))
            {
                state.Frames[f] = frame.WithCallerSaved(Array.ConvertAll(saved, v => forget(v)));
            }
        }

        state.MinLength = 0;
        state.MinMetaLength = 0;
    }

    /// <summary>Checks a <see cref="Helpers.HelperArgumentKind.Context"/> argument; false when it is an error.</summary>
    private bool CheckContextArgument(int pc, int r, in AbstractValue value)
    {
        var expected = context.Layout is null ? ValueKind.Input : ValueKind.Context;
        if (value.Kind == expected && value.Num.IsConstant && value.Num.SMin == 0)
        {
            return true;
        }

        if (value.Kind == ValueKind.Unknown)
        {
            Unproven(pc, $"r{r}: the helper expects the context pointer; the analysis does not know what r{r} is");
            return true;
        }

        Error(pc, $"r{r}: the helper expects the context pointer (r1 at entry, unmodified), but r{r} is {value}");
        return false;
    }
}
