using Ebpf.Kernel;

namespace Ebpf.Fuzzing;

/// <summary>
/// The input format of the kernel fuzz target: one byte choosing the program type (its value modulo 3: XDP, tc
/// classifier, socket filter), then a <see cref="DifferentialInput"/> whose memory is the packet (an Ethernet frame of
/// at most 255 bytes) and whose code is the program. Mutations of any byte keep it parseable.
/// </summary>
/// <param name="Type">The program type.</param>
/// <param name="Packet">The frame the program runs on.</param>
/// <param name="Code">The bytecode, a whole number of slots.</param>
public sealed record KernelInput(KernelProgramType Type, byte[] Packet, byte[] Code)
{
    private static readonly KernelProgramType[] Types = Enum.GetValues<KernelProgramType>();

    /// <summary>Splits fuzzer bytes into type, packet and code.</summary>
    /// <param name="data">Any bytes.</param>
    public static KernelInput Parse(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return new KernelInput(KernelProgramType.Xdp, [], []);
        }

        var rest = DifferentialInput.Parse(data[1..]);
        return new KernelInput(Types[data[0] % Types.Length], rest.Memory, rest.Code);
    }

    /// <summary>The bytes <see cref="Parse"/> reads back to this input.</summary>
    /// <exception cref="ArgumentException">The packet is longer than 255 bytes.</exception>
    public byte[] ToBytes() => [(byte)Array.IndexOf(Types, Type), .. new DifferentialInput(Packet, Code).ToBytes()];
}
