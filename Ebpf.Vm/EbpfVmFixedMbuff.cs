using System.Buffers.Binary;

namespace Ebpf.Vm;

/// <summary>
/// rbpf's <c>EbpfVmFixedMbuff</c>: runs programs written for a kernel-style metadata buffer without the caller building
/// one. The VM keeps an internal buffer of <c>max(dataOffset, dataEndOffset) + 8</c> bytes and, on every run, writes the
/// packet's start address at <c>dataOffset</c> and its end address at <c>dataEndOffset</c>; r1 = the buffer.
/// Runs are serialised because they share that buffer.
/// </summary>
public sealed class EbpfVmFixedMbuff : EbpfVm
{
    private readonly object runGate = new();
    private byte[] buffer = [];
    private int dataOffset;
    private int dataEndOffset;

    /// <summary>Creates the VM, loading <paramref name="program"/> when it is not null.</summary>
    /// <param name="program">The bytecode, or null.</param>
    /// <param name="dataOffset">Where in the buffer the packet's start address goes.</param>
    /// <param name="dataEndOffset">Where in the buffer the packet's end address goes.</param>
    /// <param name="jitEngine">The engine of <see cref="EbpfVm.JitCompile"/>; the interpreter when null.</param>
    /// <param name="options">The execution options.</param>
    /// <exception cref="EbpfException">The program does not decode or verify.</exception>
    public EbpfVmFixedMbuff(byte[]? program, int dataOffset, int dataEndOffset, IExecutionEngine? jitEngine = null, ExecutionOptions? options = null)
        : base(program, jitEngine, options)
    {
        SetOffsets(dataOffset, dataEndOffset);
    }

    /// <summary>Where the packet's start address is written.</summary>
    public int DataOffset => dataOffset;

    /// <summary>Where the packet's end address is written.</summary>
    public int DataEndOffset => dataEndOffset;

    /// <summary>Loads another program, checked by the VM's verifier, with new offsets (rbpf's <c>set_program</c>).</summary>
    public void SetProgram(byte[] program, int newDataOffset, int newDataEndOffset)
    {
        ValidateOffsets(newDataOffset, newDataEndOffset);
        Load(program);
        SetOffsets(newDataOffset, newDataEndOffset);
    }

    /// <summary>Interprets the program on <paramref name="memory"/>; returns r0.</summary>
    /// <exception cref="EbpfRuntimeException">The run failed.</exception>
    public ulong ExecuteProgram(Span<byte> memory) => Run(Interpreted(), memory);

    /// <summary>Runs the JIT-compiled program on <paramref name="memory"/>; returns r0.</summary>
    public ulong ExecuteProgramJit(Span<byte> memory) => Run(Jitted(), memory);

    private unsafe ulong Run(ICompiledProgram compiled, Span<byte> memory)
    {
        lock (runGate)
        {
            fixed (byte* data = memory)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(dataOffset), (ulong)data);
                BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(dataEndOffset), (ulong)data + (ulong)memory.Length);
                return compiled.Run(memory, buffer);
            }
        }
    }

    private void SetOffsets(int newDataOffset, int newDataEndOffset)
    {
        ValidateOffsets(newDataOffset, newDataEndOffset);
        dataOffset = newDataOffset;
        dataEndOffset = newDataEndOffset;
        buffer = new byte[Math.Max(newDataOffset, newDataEndOffset) + 8];
    }

    private static void ValidateOffsets(int newDataOffset, int newDataEndOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newDataOffset, "dataOffset");
        ArgumentOutOfRangeException.ThrowIfNegative(newDataEndOffset, "dataEndOffset");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(newDataOffset, 1 << 20, "dataOffset");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(newDataEndOffset, 1 << 20, "dataEndOffset");
    }
}
