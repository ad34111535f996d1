using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Ebpf.Isa;

/// <summary>
/// One 8-byte eBPF instruction slot (RFC 9669, section 3): opcode, destination and source registers,
/// signed 16-bit offset and signed 32-bit immediate. <c>lddw</c> occupies two slots; the second slot is
/// an <see cref="Instruction"/> whose only meaningful field is <see cref="Imm"/> (the upper 32 bits).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct Instruction : IEquatable<Instruction>
{
    /// <summary>The size of one instruction slot in bytes.</summary>
    public const int SlotSize = 8;

    /// <summary>Creates an instruction from its fields.</summary>
    /// <param name="opCode">The opcode byte.</param>
    /// <param name="dst">The destination register number (0-15: the encoding has four bits).</param>
    /// <param name="src">The source register number (0-15: the encoding has four bits).</param>
    /// <param name="offset">The signed 16-bit offset.</param>
    /// <param name="imm">The signed 32-bit immediate.</param>
    /// <exception cref="ArgumentOutOfRangeException">A register number does not fit in four bits.</exception>
    public Instruction(byte opCode, byte dst, byte src, short offset, int imm)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dst, (byte)15);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(src, (byte)15);
        OpCode = opCode;
        Dst = dst;
        Src = src;
        Offset = offset;
        Imm = imm;
    }

    /// <summary>The opcode byte.</summary>
    public byte OpCode { get; }

    /// <summary>The destination register field (0-15).</summary>
    public byte Dst { get; }

    /// <summary>The source register field (0-15).</summary>
    public byte Src { get; }

    /// <summary>The signed 16-bit offset field.</summary>
    public short Offset { get; }

    /// <summary>The signed 32-bit immediate field.</summary>
    public int Imm { get; }

    /// <summary>The instruction class (low three bits of the opcode).</summary>
    public InstructionClass Class => (InstructionClass)(OpCode & 0x07);

    /// <summary>The operation, read as an ALU operation (meaningful for classes ALU and ALU64).</summary>
    public AluOperation AluOperation => (AluOperation)(OpCode & 0xf0);

    /// <summary>The operation, read as a jump operation (meaningful for classes JMP and JMP32).</summary>
    public JumpOperation JumpOperation => (JumpOperation)(OpCode & 0xf0);

    /// <summary>The source bit (meaningful for ALU and JMP classes).</summary>
    public OperandSource Source => (OperandSource)(OpCode & 0x08);

    /// <summary>The access size (meaningful for load and store classes).</summary>
    public AccessSize AccessSize => (AccessSize)(OpCode & 0x18);

    /// <summary>The access mode (meaningful for load and store classes).</summary>
    public AccessMode AccessMode => (AccessMode)(OpCode & 0xe0);

    /// <summary>True for <c>lddw</c>, the only instruction that occupies two slots.</summary>
    public bool IsWide => OpCode == OpCodes.Lddw;

    /// <summary>The number of bytes an access of <see cref="AccessSize"/> touches (1, 2, 4 or 8).</summary>
    public int AccessBytes => AccessSize switch
    {
        AccessSize.Byte => 1,
        AccessSize.HalfWord => 2,
        AccessSize.Word => 4,
        _ => 8,
    };

    /// <summary>Reads one instruction from the first eight bytes of <paramref name="slot"/> (little-endian).</summary>
    /// <exception cref="EbpfDecodeException">Fewer than eight bytes were given.</exception>
    public static Instruction Decode(ReadOnlySpan<byte> slot)
    {
        if (slot.Length < SlotSize)
        {
            throw new EbpfDecodeException($"an instruction needs {SlotSize} bytes, {slot.Length} given", 0);
        }

        return FromRaw(BinaryPrimitives.ReadUInt64LittleEndian(slot));
    }

    /// <summary>Decodes a whole program: one <see cref="Instruction"/> per 8-byte slot.</summary>
    /// <exception cref="EbpfDecodeException">The length is not a multiple of eight.</exception>
    public static Instruction[] DecodeAll(ReadOnlySpan<byte> code)
    {
        if (code.Length % SlotSize != 0)
        {
            throw new EbpfDecodeException(
                $"program length {code.Length} is not a multiple of {SlotSize} (the last {code.Length % SlotSize} byte(s) do not form an instruction)",
                code.Length - (code.Length % SlotSize));
        }

        var result = new Instruction[code.Length / SlotSize];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = FromRaw(BinaryPrimitives.ReadUInt64LittleEndian(code.Slice(i * SlotSize)));
        }

        return result;
    }

    /// <summary>Encodes a sequence of instructions into bytes.</summary>
    public static byte[] EncodeAll(ReadOnlySpan<Instruction> instructions)
    {
        var bytes = new byte[instructions.Length * SlotSize];
        for (int i = 0; i < instructions.Length; i++)
        {
            instructions[i].Encode(bytes.AsSpan(i * SlotSize));
        }

        return bytes;
    }

    /// <summary>Builds an instruction from its 64-bit little-endian slot value.</summary>
    public static Instruction FromRaw(ulong raw) => new(
        (byte)raw,
        (byte)((raw >> 8) & 0x0f),
        (byte)((raw >> 12) & 0x0f),
        (short)(raw >> 16),
        (int)(raw >> 32));

    /// <summary>The 64-bit slot value of this instruction (as read little-endian from its 8 bytes).</summary>
    public ulong ToRaw() =>
        OpCode
        | ((ulong)Dst << 8)
        | ((ulong)Src << 12)
        | ((ulong)(ushort)Offset << 16)
        | ((ulong)(uint)Imm << 32);

    /// <summary>Writes the instruction as eight little-endian bytes.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than eight bytes.</exception>
    public void Encode(Span<byte> destination)
    {
        if (destination.Length < SlotSize)
        {
            throw new ArgumentException($"an instruction needs {SlotSize} bytes of space", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64LittleEndian(destination, ToRaw());
    }

    /// <summary>The eight bytes of this instruction.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[SlotSize];
        Encode(bytes);
        return bytes;
    }

    /// <summary>Returns a copy with another immediate.</summary>
    public Instruction WithImm(int imm) => new(OpCode, Dst, Src, Offset, imm);

    /// <summary>Returns a copy with another offset.</summary>
    public Instruction WithOffset(short offset) => new(OpCode, Dst, Src, offset, Imm);

    /// <summary>Returns a copy with another source register field.</summary>
    public Instruction WithSrc(byte src) => new(OpCode, Dst, src, Offset, Imm);

    /// <summary>The canonical assembly text of this single slot (see <see cref="InstructionFormatter"/>).</summary>
    public override string ToString() => InstructionFormatter.Format(this);

    /// <inheritdoc />
    public bool Equals(Instruction other) => ToRaw() == other.ToRaw();

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Instruction other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => ToRaw().GetHashCode();

    /// <summary>Compares two instructions bit for bit.</summary>
    public static bool operator ==(Instruction left, Instruction right) => left.Equals(right);

    /// <summary>Compares two instructions bit for bit.</summary>
    public static bool operator !=(Instruction left, Instruction right) => !left.Equals(right);
}
