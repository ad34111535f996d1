using Ebpf.Helpers;
using Ebpf.Isa;

namespace Ebpf.Analysis;

internal sealed partial class SafetyAnalyzer
{
    /// <summary>The largest memory argument size a helper signature is checked for (larger ones stay unknown).</summary>
    private const ulong MaxHelperMemory = 1 << 20;

    private bool HelperCall(int pc, in DecodedInstruction insn, AbstractState state)
    {
        HelperSignature? signature = null;
        if (insn.Operation == Operation.CallX)
        {
            if (!Read(pc, state, insn.Dst, out _))
            {
                return false;
            }

            Unproven(pc, "callx: the helper is known only at run time, so its arguments are not checked");
            helperWritesUnplaced = true;
        }
        else if (!context.TryGetHelper((uint)insn.Imm, out signature))
        {
            Unproven(pc, $"helper {(uint)insn.Imm} is not registered");
        }
        else if (signature is null)
        {
            Unproven(pc, $"helper {(uint)insn.Imm} has no declared signature (Helper.Signature), so its arguments are not checked");
        }

        var result = AbstractValue.AnyScalar;
        MapShape? record = null;
        if (signature is { EndsInTailCall: true })
        {
            CheckNoRecordAtTailCall(pc, state);
        }

        if (signature is not null)
        {
            // a helper whose arguments are not known (no signature, callx) may write through any of them: see below
            if (!CheckArguments(pc, signature, state, out var map, out bool unplacedWrite, out record))
            {
                return false;
            }

            if (unplacedWrite)
            {
                ForgetSpills(state); // before the callback runs: the helper may write before it calls back
            }

            // a callback runs in frames of its own and may write through the context it is handed
            helperWritesUnplaced |= unplacedWrite || signature.CallsBack;
            if (signature.CallsBack)
            {
                EnterCallback(pc, signature, state, map);
            }

            if (signature.Return == HelperReturnKind.MapValueOrNull)
            {
                // a lookup in a map of maps yields an inner map's handle (or 0): neither memory nor a map the analysis knows
                result = map is { HoldsMaps: true }
                    ? AbstractValue.UnknownValue
                    : new AbstractValue(ValueKind.MapValueOrNull, ScalarRange.Constant(0), Map: map, NullId: ++nextNullId);
            }
            else if (signature.Return == HelperReturnKind.RingBufferRecordOrNull)
            {
                result = Reserve(pc, state, state.Registers[2]);
            }
            else if (signature.Return is HelperReturnKind.FullSocketOrNull or HelperReturnKind.TcpSocketOrNull)
            {
                var kind = signature.Return == HelperReturnKind.FullSocketOrNull ? ValueKind.FullSocketOrNull : ValueKind.TcpSocketOrNull;
                result = new AbstractValue(kind, ScalarRange.Constant(0), NullId: ++nextNullId);
            }
        }

        if (signature is null)
        {
            ForgetSpills(state);
            helperWritesUnplaced = true;
        }

        state.Registers[0] = result;
        for (int r = 1; r <= 5; r++)
        {
            state.Registers[r] = AbstractValue.Uninitialized;
        }

        if (record is not null)
        {
            Release(state, record);
        }

        if (signature?.ChangesPacketData == true || (signature is null && context.Layout?.HasPacket == true))
        {
            ForgetPacket(state);
        }

        return true;
    }

    /// <summary>
    /// Checks the arguments against <paramref name="signature"/>; <paramref name="unplacedWrite"/> tells that the helper
    /// may write memory the analysis cannot place (a writable argument it does not prove, a checked pointer);
    /// <paramref name="record"/> is the ring-buffer record the call releases, if any.
    /// </summary>
    private bool CheckArguments(int pc, HelperSignature signature, AbstractState state, out MapShape? map, out bool unplacedWrite, out MapShape? record)
    {
        map = null;
        record = null;
        unplacedWrite = false;
        bool mapSeen = false;
        var args = signature.Arguments;
        for (int i = 0; i < args.Length; i++)
        {
            int r = i + 1;
            if (!Read(pc, state, r, out var value))
            {
                return false;
            }

            if (value.Kind == ValueKind.Stack && args[i] is HelperArgumentKind.Any or HelperArgumentKind.Scalar)
            {
                // a frame address in an argument the signature gives no extent: the stack footprint cannot bound it
                helperWritesUnplaced = true;
            }

            switch (args[i])
            {
                case HelperArgumentKind.MapPointer:
                    if (value.Kind == ValueKind.MapPointer)
                    {
                        if (!mapSeen)
                        {
                            map = value.Map;
                            mapSeen = true;
                        }
                    }
                    else if (value.Kind == ValueKind.Unknown)
                    {
                        // An inner map from a lookup in a map of maps: which map it is (and its shape) is known only at run time.
                        Unproven(pc, $"r{r}: the helper expects a map; the analysis does not know which map r{r} is");
                    }
                    else
                    {
                        Error(pc, $"r{r}: the helper expects a map (an lddw map pseudo source), but r{r} is {value}");
                        return false;
                    }

                    break;
                case HelperArgumentKind.MapKey or HelperArgumentKind.MapValue:
                    if (map is null)
                    {
                        Unproven(pc, $"r{r}: the size of the map's {(args[i] == HelperArgumentKind.MapKey ? "key" : "value")} is not known");
                    }
                    else if (!CheckHelperMemory(pc, state, r, value, args[i] == HelperArgumentKind.MapKey ? map.KeySize : map.ValueSize, write: false, exactSize: true, ref unplacedWrite))
                    {
                        return false;
                    }

                    break;
                case HelperArgumentKind.ReadableMemory or HelperArgumentKind.WritableMemory:
                    if (!Read(pc, state, r + 1, out var size))
                    {
                        return false;
                    }

                    bool writable = args[i] == HelperArgumentKind.WritableMemory;
                    if (size.Kind != ValueKind.Scalar || size.Num.UMax > MaxHelperMemory)
                    {
                        Unproven(pc, $"r{r + 1}: the size of the memory at r{r} is not bounded ({size})");
                        unplacedWrite |= writable;
                    }
                    else if (size.Num.UMax > 0 && !CheckHelperMemory(pc, state, r, value, (int)size.Num.UMax, writable, size.Num.IsConstant, ref unplacedWrite))
                    {
                        return false;
                    }

                    break;
                case HelperArgumentKind.String:
                    Unproven(pc, $"r{r}: a NUL-terminated string: how far the helper reads cannot be proven");
                    break;
                case HelperArgumentKind.Context:
                    if (!CheckContextArgument(pc, r, value))
                    {
                        return false;
                    }

                    break;
                case HelperArgumentKind.CheckedPointer:
                    Unproven(pc, $"r{r}: the helper reads or writes at offsets known only at run time (it checks them itself)");
                    unplacedWrite = true;
                    MayWriteFrom(state, value);
                    break;
                case HelperArgumentKind.RingBufferRecord:
                    record = CheckRecordArgument(pc, r, value);
                    break;
                case HelperArgumentKind.StackOrNull:
                    CheckStackOrNull(pc, r, value);
                    break;
                case HelperArgumentKind.Socket:
                    if (value.Kind is not (ValueKind.Socket or ValueKind.FullSocket or ValueKind.TcpSocket))
                    {
                        // the helper checks at run time that it is given the run's socket (anything else gives NULL)
                        string type = value.Kind switch
                        {
                            _ when AbstractValue.IsSocket(value.Kind) => AbstractValue.SocketName(value.Kind),
                            ValueKind.Scalar => "scalar",
                            ValueKind.Context => "ctx",
                            _ => value.ToString(),
                        };
                        Refuse(pc, $"r{r}: type={type} expected=sock_common, sock, tcp_sock, xdp_sock (a socket pointer compared with 0)");
                    }

                    break;
                case HelperArgumentKind.Function:
                    if (value.Kind != ValueKind.Function)
                    {
                        Error(pc, $"r{r}: the helper expects a function of the program (an lddw with src=4), but r{r} is {value}");
                        return false;
                    }

                    break;
            }
        }

        return true;
    }

    /// <summary>
    /// A <see cref="HelperArgumentKind.StackOrNull"/> argument: a stack pointer or the number 0 passes; another pointer,
    /// or a number that cannot be 0, is refused as the kernel's verifier refuses it (<c>R3 type=ctx expected=fp</c>); a
    /// number that may or may not be 0, or an unknown value, stays unproven (the helper checks it at run time).
    /// </summary>
    private void CheckStackOrNull(int pc, int r, in AbstractValue value)
    {
        bool isNull = value.Kind == ValueKind.Scalar && value.Num.IsConstant && value.Num.UMin == 0;
        if (value.Kind == ValueKind.Stack || isNull)
        {
            return;
        }

        bool definite = (value.IsPointer && value.Kind != ValueKind.MapValueOrNull) || (value.Kind == ValueKind.Scalar && !value.Num.Contains(0));
        string message = $"r{r}: the callback's context must be a pointer into the stack or NULL (ARG_PTR_TO_STACK_OR_NULL), but r{r} is {value} (the kernel's verifier: R{r} expected=fp)";
        if (definite)
        {
            Refuse(pc, message);
        }
        else
        {
            Unproven(pc, message);
        }
    }

    /// <summary>
    /// A helper that reads or writes through <paramref name="pointer"/> at offsets known only at run time may fill any
    /// byte of the pointed stack frame from the pointer's lowest offset up to the frame's top: uninitialised bytes there
    /// become perhaps initialised (reading them is unproven, not an error), as the kernel lets <c>bpf_map_peek_elem</c>
    /// and <c>bpf_map_pop_elem</c> fill uninitialised stack (ARG_PTR_TO_UNINIT_MAP_VALUE).
    /// </summary>
    private static void MayWriteFrom(AbstractState state, in AbstractValue pointer)
    {
        if (pointer.Kind != ValueKind.Stack || pointer.Frame < 0 || pointer.Frame >= state.Frames.Count)
        {
            return;
        }

        var frame = state.Frames[pointer.Frame];
        long lowest = Math.Max(pointer.Num.SMin, -(long)frame.Size);
        if (lowest < 0)
        {
            WriteStack(frame, new AccessProof(AccessOutcome.Unknown, ValueKind.Stack, lowest, lowest, (int)-lowest), AbstractValue.AnyScalar, strong: false);
        }
    }

    /// <summary>Checks a helper's memory argument like an access of <paramref name="size"/> bytes; false when it is an error.</summary>
    private bool CheckHelperMemory(int pc, AbstractState state, int r, in AbstractValue pointer, int size, bool write, bool exactSize, ref bool unplacedWrite)
    {
        var proof = Classify(state, pointer, r, 0, size, write, out string? why);
        switch (proof.Outcome)
        {
            case AccessOutcome.Refuted:
                Error(pc, why!);
                return false;
            case AccessOutcome.Unknown:
                Unproven(pc, why!);
                unplacedWrite |= write;
                return true;
        }

        if (pointer.Kind != ValueKind.Stack)
        {
            return true;
        }

        var frame = state.Frames[pointer.Frame];
        if (!write)
        {
            return Initialized(pc, frame, proof, r);
        }

        NoteHelperStackWrite(pointer.Frame, proof);
        WriteStack(frame, proof, AbstractValue.AnyScalar, strong: exactSize);
        return true;
    }

    /// <summary>
    /// Counts a proven helper write into a stack frame in <see cref="SafetyAnalysis.HelperStackWriteBytes"/>: its deepest
    /// byte below r10 when the frame is the entry function's, else (a local call's frame) as a write the footprint cannot
    /// place.
    /// </summary>
    private void NoteHelperStackWrite(int frame, in AccessProof proof)
    {
        if (frame == 0)
        {
            helperStackWriteBytes = Math.Max(helperStackWriteBytes, -proof.MinOffset);
        }
        else
        {
            helperWritesUnplaced = true;
        }
    }

    /// <summary>
    /// A helper that calls back (<c>bpf_loop</c>...): the callback is followed from here in a new frame, with the
    /// arguments the signature describes; its exit returns to this call with the caller's registers, so the call runs
    /// again and the callback's entry state grows (widening as at a loop head) until it covers every number of runs.
    /// </summary>
    private void EnterCallback(int pc, HelperSignature signature, AbstractState state, MapShape? map)
    {
        var function = state.Registers[signature.Arguments.IndexOf(HelperArgumentKind.Function) + 1];
        if (signature.CallbackArguments.IsEmpty)
        {
            Unproven(pc, "the helper's callback arguments are not described (HelperSignature.CallbackArguments): the callback is not analysed");
            return;
        }

        if (!function.Num.IsConstant)
        {
            Unproven(pc, "which function the callback is depends on the path: it is not analysed");
            return;
        }

        if (state.Frames.Count >= context.MaxCallDepth)
        {
            Unproven(pc, $"the callback nests deeper than {context.MaxCallDepth} frames (the run stops with a call-depth error)");
            return;
        }

        var callee = state.Clone();
        callee.Frames.Add(new FrameState(context.StackSize, state.Registers.AsSpan(1, 9).ToArray(), pc, isCallback: true));
        var registers = callee.Registers;
        for (int r = 0; r < 10; r++)
        {
            registers[r] = r is >= 1 and <= 5 && r - 1 < signature.CallbackArguments.Length
                ? CallbackArgument(signature, signature.CallbackArguments[r - 1], state, map)
                : r is >= 1 and <= 5 ? AbstractValue.Constant(0) : AbstractValue.Uninitialized;
        }

        registers[10] = FramePointer(callee.Depth);
        Merge((int)function.Num.SMin, callee);
    }

    private AbstractValue CallbackArgument(HelperSignature signature, CallbackArgumentKind kind, AbstractState state, MapShape? map) => kind switch
    {
        CallbackArgumentKind.Zero => AbstractValue.Constant(0),
        CallbackArgumentKind.LoopIndex => AbstractValue.Scalar(ScalarRange.UpTo((1ul << 23) - 1)),
        CallbackArgumentKind.HelperArgument3 => state.Registers[3],
        CallbackArgumentKind.Map => state.Registers[signature.Arguments.IndexOf(HelperArgumentKind.MapPointer) + 1],
        CallbackArgumentKind.MapKey when map is { HoldsMaps: false } => new AbstractValue(ValueKind.MapValue, ScalarRange.Constant(0), Map: KeyShape(map)),
        CallbackArgumentKind.MapValue when map is { HoldsMaps: false } => new AbstractValue(map.IsGlobalData ? ValueKind.Global : ValueKind.MapValue, ScalarRange.Constant(0), Map: map),
        CallbackArgumentKind.Number => AbstractValue.AnyScalar,
        _ => AbstractValue.UnknownValue,
    };

    /// <summary>The keys of <paramref name="map"/> as read-only memory of the key size (one shape per map, so values join).</summary>
    private MapShape KeyShape(MapShape map)
    {
        if (!keyShapes.TryGetValue(map, out var shape))
        {
            shape = new MapShape($"{map.Name} key", 0, map.KeySize, ReadOnly: true, IsGlobalData: false);
            keyShapes.Add(map, shape);
        }

        return shape;
    }

    private readonly Dictionary<MapShape, MapShape> keyShapes = new(ReferenceEqualityComparer.Instance);

    private int LocalCall(int pc, in DecodedInstruction insn, AbstractState state)
    {
        if (state.Frames.Count >= context.MaxCallDepth)
        {
            Unproven(pc, $"the local call nests deeper than {context.MaxCallDepth} frames (the run stops with a call-depth error)");
            return -1;
        }

        var saved = state.Registers.AsSpan(6, 4).ToArray();
        state.Frames.Add(new FrameState(context.StackSize, saved, pc + 1));
        state.Registers[10] = FramePointer(state.Depth);
        return insn.Target;
    }

    private int Exit(int pc, AbstractState state)
    {
        if (!Read(pc, state, 0, out var result))
        {
            return -1;
        }

        if (state.Depth == 0)
        {
            if (result.IsPointer)
            {
                Unproven(pc, $"r0: returns a pointer ({result}) to the host (a pointer leak the kernel rejects)");
            }

            CheckRecordsReleased(pc, state);
            return -1;
        }

        int popped = state.Depth;
        var frame = state.Top;
        state.Frames.RemoveAt(popped);
        if (frame.IsCallback)
        {
            // Back to the helper call with the registers it had, which may call the callback again.
            if (result.Kind != ValueKind.Scalar || result.Num.UMax > 1)
            {
                Unproven(pc, $"r0: a callback returns 0 or 1 (the kernel's verifier requires it), here {result}");
            }

            frame.CallerSaved!.CopyTo(state.Registers, 1);
            state.Registers[0] = AbstractValue.AnyScalar;
        }
        else
        {
            frame.CallerSaved!.CopyTo(state.Registers, 6);
            for (int r = 1; r <= 5; r++)
            {
                state.Registers[r] = AbstractValue.Uninitialized;
            }

            state.Registers[0] = result;
        }

        state.Registers[10] = FramePointer(popped - 1);
        for (int r = 0; r < 10; r++)
        {
            if (state.Registers[r].Kind == ValueKind.Stack && state.Registers[r].Frame >= popped)
            {
                state.Registers[r] = AbstractValue.UnknownValue;
            }
        }

        foreach (var f in state.Frames)
        {
            for (int i = 0; i < f.Spills.Length; i++)
            {
                if (f.Bytes[i * 8] == StackByte.Spill && f.Spills[i].Kind == ValueKind.Stack && f.Spills[i].Frame >= popped)
                {
                    f.WritableSpills[i] = AbstractValue.UnknownValue;
                }
            }
        }

        return frame.ReturnPc;
    }
}
