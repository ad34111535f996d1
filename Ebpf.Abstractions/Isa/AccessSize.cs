namespace Ebpf.Isa;

/// <summary>The size field of load and store opcodes (bits 3-4).</summary>
public enum AccessSize : byte
{
    /// <summary>Four bytes (<c>w</c>).</summary>
    Word = 0x00,
    /// <summary>Two bytes (<c>h</c>).</summary>
    HalfWord = 0x08,
    /// <summary>One byte (<c>b</c>).</summary>
    Byte = 0x10,
    /// <summary>Eight bytes (<c>dw</c>).</summary>
    DoubleWord = 0x18,
}
