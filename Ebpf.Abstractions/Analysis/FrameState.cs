namespace Ebpf.Analysis;

/// <summary>
/// One stack frame of an <see cref="AbstractState"/>: the state of each byte (offsets -size..-1 from the frame
/// pointer), the spilled registers of its 8-byte slots, and for a local call the caller's r6-r9 and where it returns.
/// </summary>
public sealed class FrameState
{
    private StackByte[] bytes;
    private AbstractValue[] spills;
    private bool shared;

    internal FrameState(int size, AbstractValue[]? callerSaved, int returnPc, bool isCallback = false)
    {
        bytes = new StackByte[size];
        spills = new AbstractValue[size / 8];
        CallerSaved = callerSaved;
        ReturnPc = returnPc;
        IsCallback = isCallback;
    }

    private FrameState(StackByte[] bytes, AbstractValue[] spills, AbstractValue[]? callerSaved, int returnPc, bool shared, bool isCallback)
    {
        this.bytes = bytes;
        this.spills = spills;
        CallerSaved = callerSaved;
        ReturnPc = returnPc;
        this.shared = shared;
        IsCallback = isCallback;
    }

    /// <summary>The bytes (read only: write through <see cref="WritableBytes"/>): index i is offset i - size from the frame pointer.</summary>
    internal StackByte[] Bytes => bytes;

    /// <summary>The spilled values (read only: write through <see cref="WritableSpills"/>): index i is the slot at offset 8 * i - size.</summary>
    internal AbstractValue[] Spills => spills;

    /// <summary>The bytes, copied first when a clone shares them (copy on write: clones at branches cost nothing until written).</summary>
    internal StackByte[] WritableBytes
    {
        get
        {
            Own();
            return bytes;
        }
    }

    /// <summary>The spilled values, copied first when a clone shares them.</summary>
    internal AbstractValue[] WritableSpills
    {
        get
        {
            Own();
            return spills;
        }
    }

    /// <summary>The caller's r6-r9 (null for the entry function's frame); for a callback's frame its r1-r9 (the helper
    /// call is interpreted again when the callback returns, with the arguments it had).</summary>
    internal AbstractValue[]? CallerSaved { get; }

    /// <summary>True for the frame of a callback a helper runs: it returns to the helper call (<see cref="ReturnPc"/>), which may call it again.</summary>
    internal bool IsCallback { get; }

    /// <summary>Where the local call returns to (-1 for the entry function's frame).</summary>
    internal int ReturnPc { get; }

    internal int Size => Bytes.Length;

    internal FrameState Clone()
    {
        shared = true;
        return new FrameState(bytes, spills, CallerSaved, ReturnPc, shared: true, IsCallback);
    }

    private void Own()
    {
        if (shared)
        {
            bytes = (StackByte[])bytes.Clone();
            spills = (AbstractValue[])spills.Clone();
            shared = false;
        }
    }

    /// <summary>True when both frames describe the same states.</summary>
    internal bool Equivalent(FrameState other)
    {
        if (ReferenceEquals(bytes, other.bytes) && ReferenceEquals(spills, other.spills))
        {
            return CallersEqual(other);
        }

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
        if (ReferenceEquals(bytes, other.bytes) && ReferenceEquals(spills, other.spills) && CallersEqual(other))
        {
            return result;
        }

        var resultBytes = result.WritableBytes;
        var resultSpills = result.WritableSpills;
        for (int i = 0; i < Bytes.Length; i++)
        {
            var a = Bytes[i];
            var b = other.Bytes[i];
            resultBytes[i] = a == StackByte.Uninitialized || b == StackByte.Uninitialized ? StackByte.Uninitialized
                : a == StackByte.MaybeData || b == StackByte.MaybeData ? StackByte.MaybeData
                : a == StackByte.Spill && b == StackByte.Spill ? StackByte.Spill
                : StackByte.Data;
        }

        for (int i = 0; i < Spills.Length; i++)
        {
            if (resultBytes[i * 8] == StackByte.Spill)
            {
                var joined = Spills[i].Join(other.Spills[i], widen);
                if (joined.Kind == ValueKind.Uninitialized)
                {
                    resultBytes.AsSpan(i * 8, 8).Fill(StackByte.Data);
                }

                resultSpills[i] = joined;
            }
        }

        if (CallerSaved is not null && other.CallerSaved is not null && !CallersEqual(other))
        {
            var saved = new AbstractValue[CallerSaved.Length];
            for (int i = 0; i < saved.Length; i++)
            {
                saved[i] = CallerSaved[i].Join(other.CallerSaved[i], widen);
            }

            return new FrameState(result, saved);
        }

        return result;
    }

    private FrameState(FrameState copy, AbstractValue[] callerSaved)
    {
        bytes = copy.bytes;
        spills = copy.spills;
        shared = copy.shared;
        CallerSaved = callerSaved;
        ReturnPc = copy.ReturnPc;
        IsCallback = copy.IsCallback;
    }

    /// <summary>This frame with other saved caller registers (the stack bytes shared, copied on write).</summary>
    internal FrameState WithCallerSaved(AbstractValue[] callerSaved) => new(Clone(), callerSaved);

    private bool CallersEqual(FrameState other) =>
        ReferenceEquals(CallerSaved, other.CallerSaved)
        || (CallerSaved is not null && other.CallerSaved is not null && CallerSaved.AsSpan().SequenceEqual(other.CallerSaved));
}
