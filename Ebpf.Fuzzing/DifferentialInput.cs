using Ebpf.Isa;

namespace Ebpf.Fuzzing;

/// <summary>
/// The input format of the differential fuzz target: one byte giving the memory length (at most what follows), the
/// memory, then the program's bytecode (trailing bytes that do not fill a slot are ignored). Mutations of any byte keep
/// it parseable.
/// </summary>
/// <param name="Memory">The memory the program runs on.</param>
/// <param name="Code">The bytecode, a whole number of slots.</param>
public sealed record DifferentialInput(byte[] Memory, byte[] Code)
{
    /// <summary>Splits fuzzer bytes into memory and code.</summary>
    /// <param name="data">Any bytes.</param>
    public static DifferentialInput Parse(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return new DifferentialInput([], []);
        }

        int memoryLength = Math.Min(data[0], data.Length - 1);
        var rest = data[(1 + memoryLength)..];
        return new DifferentialInput(data.Slice(1, memoryLength).ToArray(), rest[..(rest.Length - (rest.Length % Instruction.SlotSize))].ToArray());
    }

    /// <summary>The bytes <see cref="Parse"/> reads back to this input.</summary>
    /// <exception cref="ArgumentException">The memory is longer than 255 bytes.</exception>
    public byte[] ToBytes()
    {
        if (Memory.Length > byte.MaxValue)
        {
            throw new ArgumentException($"the memory of a differential input is at most 255 bytes, not {Memory.Length}");
        }

        return [(byte)Memory.Length, .. Memory, .. Code];
    }
}
