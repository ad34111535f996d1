using Iced.Intel;

namespace Ebpf.X64.Compiler;

/// <summary>Collects the bytes Iced's encoder writes.</summary>
internal sealed class CodeBuffer : CodeWriter
{
    private byte[] bytes;
    private int length;

    public CodeBuffer(int capacity)
    {
        bytes = new byte[Math.Max(capacity, 64)];
    }

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> Written => bytes.AsSpan(0, length);

    /// <inheritdoc />
    public override void WriteByte(byte value)
    {
        if (length == bytes.Length)
        {
            Array.Resize(ref bytes, bytes.Length * 2);
        }

        bytes[length++] = value;
    }
}
