namespace Ebpf.Analysis;

/// <summary>
/// One stack frame of an <see cref="AbstractState"/>: the state of each byte (offsets -size..-1 from the frame
/// pointer), the spilled registers of its 8-byte slots, and for a local call the caller's r6-r9 and where it returns.
/// </summary>
public sealed class FrameState
{
    internal FrameState(int size, AbstractValue[]? callerSaved, int returnPc)
    {
        Bytes = new StackByte[size];
        Spills = new AbstractValue[size / 8];
        CallerSaved = callerSaved;
        ReturnPc = returnPc;
    }

    private FrameState(FrameState other)
    {
        Bytes = (StackByte[])other.Bytes.Clone();
        Spills = (AbstractValue[])other.Spills.Clone();
        CallerSaved = other.CallerSaved;
        ReturnPc = other.ReturnPc;
    }

    /// <summary>The bytes: index i is offset i - size from the frame pointer.</summary>
    internal StackByte[] Bytes { get; }

    /// <summary>The spilled values: index i is the slot at offset 8 * i - size.</summary>
    internal AbstractValue[] Spills { get; }

    /// <summary>The caller's r6-r9 (null for the entry function's frame).</summary>
    internal AbstractValue[]? CallerSaved { get; }

    /// <summary>Where the local call returns to (-1 for the entry function's frame).</summary>
    internal int ReturnPc { get; }

    internal int Size => Bytes.Length;

    internal FrameState Clone() => new(this);

    /// <summary>True when both frames describe the same states.</summary>
    internal bool Equivalent(FrameState other)
    {
        if (!Bytes.AsSpan().SequenceEqual(other.Bytes))
        {
            return false;
        }

        for (int i = 0; i < Spills.Length; i++)
        {
            if (Bytes[i * 8] == StackByte.Spill && Spills[i] != other.Spills[i])
            {
                return false;
            }
        }

        return CallersEqual(other);
    }

    internal FrameState Join(FrameState other, bool widen)
    {
        var result = Clone();
        for (int i = 0; i < Bytes.Length; i++)
        {
            var a = Bytes[i];
            var b = other.Bytes[i];
            result.Bytes[i] = a == StackByte.Uninitialized || b == StackByte.Uninitialized ? StackByte.Uninitialized
                : a == StackByte.Spill && b == StackByte.Spill ? StackByte.Spill
                : StackByte.Data;
        }

        for (int i = 0; i < Spills.Length; i++)
        {
            if (result.Bytes[i * 8] == StackByte.Spill)
            {
                var joined = Spills[i].Join(other.Spills[i], widen);
                if (joined.Kind == ValueKind.Uninitialized)
                {
                    result.Bytes.AsSpan(i * 8, 8).Fill(StackByte.Data);
                }

                result.Spills[i] = joined;
            }
        }

        if (CallerSaved is not null && other.CallerSaved is not null && !CallersEqual(other))
        {
            var saved = new AbstractValue[4];
            for (int i = 0; i < 4; i++)
            {
                saved[i] = CallerSaved[i].Join(other.CallerSaved[i], widen);
            }

            return new FrameState(result, saved);
        }

        return result;
    }

    private FrameState(FrameState copy, AbstractValue[] callerSaved)
    {
        Bytes = copy.Bytes;
        Spills = copy.Spills;
        CallerSaved = callerSaved;
        ReturnPc = copy.ReturnPc;
    }

    private bool CallersEqual(FrameState other) =>
        ReferenceEquals(CallerSaved, other.CallerSaved)
        || (CallerSaved is not null && other.CallerSaved is not null && CallerSaved.AsSpan().SequenceEqual(other.CallerSaved));
}
