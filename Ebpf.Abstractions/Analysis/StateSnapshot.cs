using System.Globalization;
using System.Text;

namespace Ebpf.Analysis;

/// <summary>
/// What the log line of an <see cref="AbstractState"/> shows (registers, the current frame's written stack slots, the
/// proven lengths), copied so the analysis can go on changing the state, and formatted only when read: findings keep
/// one each, and most are never printed.
/// </summary>
internal sealed class StateSnapshot
{
    private readonly AbstractValue[] registers;
    private readonly StackByte[] bytes;
    private readonly AbstractValue[] spills;
    private readonly long minLength;
    private readonly long minMetaLength;

    internal StateSnapshot(AbstractState state)
    {
        registers = (AbstractValue[])state.Registers.Clone();
        var top = state.Top;
        bytes = (StackByte[])top.Bytes.Clone();
        int spilled = 0;
        for (int slot = 0; slot < top.Spills.Length; slot++)
        {
            spilled += bytes[slot * 8] == StackByte.Spill ? 1 : 0;
        }

        spills = new AbstractValue[spilled];
        for (int slot = top.Spills.Length - 1, i = 0; slot >= 0; slot--)
        {
            if (bytes[slot * 8] == StackByte.Spill)
            {
                spills[i++] = top.Spills[slot];
            }
        }

        minLength = state.MinLength;
        minMetaLength = state.MinMetaLength;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var text = new StringBuilder();
        for (int r = 0; r < registers.Length; r++)
        {
            if (registers[r].Kind != ValueKind.Uninitialized)
            {
                text.Append(CultureInfo.InvariantCulture, $"r{r}={registers[r]} ");
            }
        }

        int spill = 0;
        for (int slot = bytes.Length / 8 - 1; slot >= 0; slot--)
        {
            int offset = slot * 8 - bytes.Length;
            var slotBytes = bytes.AsSpan(slot * 8, 8);
            if (slotBytes[0] == StackByte.Spill)
            {
                text.Append(CultureInfo.InvariantCulture, $"fp{offset}={spills[spill++]} ");
            }
            else if (slotBytes.IndexOfAnyExcept(StackByte.Uninitialized) >= 0)
            {
                var mask = new char[8];
                for (int i = 0; i < 8; i++)
                {
                    mask[i] = slotBytes[i] switch { StackByte.Uninitialized => '?', StackByte.MaybeData => '~', _ => 'm' };
                }

                text.Append(CultureInfo.InvariantCulture, $"fp{offset}={new string(mask)} ");
            }
        }

        if (minLength > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"len>={minLength} ");
        }

        if (minMetaLength > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"meta_len>={minMetaLength} ");
        }

        return text.ToString().TrimEnd();
    }
}
