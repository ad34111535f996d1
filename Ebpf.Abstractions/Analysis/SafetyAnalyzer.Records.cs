using Ebpf.Helpers;

namespace Ebpf.Analysis;

/// <summary>
/// Ring-buffer records, as the kernel's verifier types them: <c>bpf_ringbuf_reserve</c> returns a record of the
/// constant size it was asked for, or null (<see cref="HelperReturnKind.RingBufferRecordOrNull"/>); once compared with
/// 0 it is memory of that size (a map value of a shape of its own per reserving call and size); submit or discard
/// (<see cref="HelperArgumentKind.RingBufferRecord"/>) releases it, after which no copy may be used; a path that ends
/// while it owns a record is unproven (the kernel rejects the program: an unreleased reference).
/// </summary>
internal sealed partial class SafetyAnalyzer
{
    /// <summary>The record shapes, by reserving call and size.</summary>
    private readonly Dictionary<(int Pc, int Size), MapShape> recordShapes = [];

    /// <summary>The reserving call of each record shape.</summary>
    private readonly Dictionary<MapShape, int> recordPcs = new(ReferenceEqualityComparer.Instance);

    /// <summary>r0 after <c>bpf_ringbuf_reserve</c> at <paramref name="pc"/> with <paramref name="size"/> in r2: the record or null, owned by the path from here.</summary>
    private AbstractValue Reserve(int pc, AbstractState state, in AbstractValue size)
    {
        if (size.Kind != ValueKind.Scalar || !size.Num.IsConstant || size.Num.UMax == 0 || size.Num.UMax > MaxHelperMemory)
        {
            Unproven(pc, $"r2: the record size is not a constant from 1 to {MaxHelperMemory} ({size}), so the record is not typed (the kernel's verifier requires a constant)");
            return AbstractValue.UnknownValue;
        }

        if (state.Reserved.Contains(pc))
        {
            Unproven(pc, "the record reserved here on an earlier pass may still be owned: it is not submitted or discarded on every path back here (the kernel's verifier rejects the lost reference)");
        }

        var key = (pc, (int)size.Num.UMax);
        if (!recordShapes.TryGetValue(key, out var shape))
        {
            shape = new MapShape($"ring buffer record reserved at pc {pc}", 0, key.Item2, ReadOnly: false, IsGlobalData: false) { IsRingBufferRecord = true };
            recordShapes.Add(key, shape);
            recordPcs.Add(shape, pc);
        }

        state.Reserved = state.Reserved.Add(pc);
        return new AbstractValue(ValueKind.MapValueOrNull, ScalarRange.Constant(0), Map: shape, NullId: ++nextNullId);
    }

    /// <summary>The reserving call of a record shape, or -1 for any other map.</summary>
    private int RecordPc(MapShape? map) => map is not null && recordPcs.TryGetValue(map, out int pc) ? pc : -1;

    /// <summary>
    /// Checks a <see cref="HelperArgumentKind.RingBufferRecord"/> argument: the start of a record the path owns,
    /// compared with 0. Returns the record to release after the call, or null (the helper then checks the pointer at
    /// run time, as its implementation does; the analysis releases nothing).
    /// </summary>
    private MapShape? CheckRecordArgument(int pc, int r, in AbstractValue value)
    {
        int reserved = RecordPc(value.Map);
        string? problem = value.Kind switch
        {
            _ when reserved < 0 => $"r{r}: is not a record bpf_ringbuf_reserve returned ({value}); the helper checks it at run time",
            ValueKind.MapValueOrNull => $"r{r}: may be null (the record reserved at pc {reserved}: compare it with 0 before submitting or discarding it)",
            ValueKind.MapValue when !value.Num.IsConstant || value.Num.SMin != 0 => $"r{r}: points {value.Num} bytes into the record reserved at pc {reserved}; submit and discard take the record's start",
            ValueKind.MapValue => null,
            _ => $"r{r}: the record reserved at pc {reserved} was already submitted or discarded",
        };
        if (problem is not null)
        {
            Unproven(pc, problem);
            return null;
        }

        return value.Map;
    }

    /// <summary>After submit or discard: every copy of <paramref name="record"/> (registers, spills, the callers' saved registers) is released, and the path no longer owns it.</summary>
    private void Release(AbstractState state, MapShape record)
    {
        bool copy(in AbstractValue v) => v.Kind is ValueKind.MapValue or ValueKind.MapValueOrNull && ReferenceEquals(v.Map, record);
        var released = AbstractValue.UnknownValue with { Map = record };
        for (int r = 0; r < state.Registers.Length; r++)
        {
            if (copy(state.Registers[r]))
            {
                state.Registers[r] = released;
            }
        }

        for (int f = 0; f < state.Frames.Count; f++)
        {
            var frame = state.Frames[f];
            for (int i = 0; i < frame.Spills.Length; i++)
            {
                if (frame.Bytes[i * 8] == StackByte.Spill && copy(frame.Spills[i]))
                {
                    frame.WritableSpills[i] = released;
                }
            }

            if (frame.CallerSaved is { } saved && saved.Any(v => copy(v)))
            {
                state.Frames[f] = frame.WithCallerSaved(Array.ConvertAll(saved, v => copy(v) ? released : v));
            }
        }

        state.Reserved = state.Reserved.Remove(recordPcs[record]);
    }

    /// <summary>On the branch where a record is null, the path owns nothing from its reserving call.</summary>
    private void DropNullRecord(AbstractState state, in AbstractValue value)
    {
        if (RecordPc(value.Map) is var pc and >= 0)
        {
            state.Reserved = state.Reserved.Remove(pc);
        }
    }

    /// <summary>At the program's exit: a record still owned is never submitted on this path.</summary>
    private void CheckRecordsReleased(int pc, AbstractState state)
    {
        if (!state.Reserved.IsEmpty)
        {
            Refuse(pc, $"the ring buffer record reserved at pc {string.Join(", ", state.Reserved)} may be neither submitted nor discarded on a path to this exit (the kernel's verifier rejects the unreleased reference)");
        }
    }

    /// <summary>At a tail call: the program it enters never releases a record this one still owns (the kernel: "tail_call would lead to reference leak").</summary>
    private void CheckNoRecordAtTailCall(int pc, AbstractState state)
    {
        if (!state.Reserved.IsEmpty)
        {
            Refuse(pc, $"bpf_tail_call while the ring buffer record reserved at pc {string.Join(", ", state.Reserved)} may still be owned: the program it enters cannot release it (the kernel's verifier: tail_call would lead to reference leak)");
        }
    }

    /// <summary>Why an access through <paramref name="pointer"/> (a released record, or one that may be null) is not proven, or null when it is neither.</summary>
    private string? RecordAccessProblem(string register, in AbstractValue pointer) => RecordPc(pointer.Map) switch
    {
        < 0 => null,
        var pc when pointer.Kind == ValueKind.MapValueOrNull => $"{register}: may be null (the record bpf_ringbuf_reserve returned at pc {pc}: compare it with 0 first)",
        var pc when pointer.Kind == ValueKind.Unknown => $"{register}: the ring buffer record reserved at pc {pc} was submitted or discarded: the program may not use it any more",
        _ => null,
    };
}
